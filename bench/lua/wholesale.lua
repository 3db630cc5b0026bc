-- Wholesale orders for wrk, through the buyers' JSON API: each order takes PER_ORDER lines from the
-- comma-separated "sku:cases" list in LINES, in turn (so one-line orders spread over the SKUs, and
-- PER_ORDER = all of them is the quick order of every supply SKU), from the buyers in turn: bearer
-- tokens in AUTHS and their addresses in ADDRESSES (comma-separated, in the same order), with a
-- fresh Idempotency-Key per request. Answers are counted by status and
-- the answer's credit state (201 clear / 201 held) and written to OUT at the end.
local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do table.insert(items, item) end
  return items
end

local lines = split(os.getenv("LINES"))
local per_order = tonumber(os.getenv("PER_ORDER") or "1")
local auths = split(os.getenv("AUTHS"))
local addresses = split(os.getenv("ADDRESSES"))
local tag = os.getenv("TAG") or "bench"
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

local counter = 0
counts = {}

function init(args)
  counts = {}
end

function request()
  counter = counter + 1
  local parts = {}
  for k = 0, per_order - 1 do
    local sku, cases = string.match(lines[((counter * per_order + k) % #lines) + 1], "([^:]+):(%d+)")
    table.insert(parts, '{"sku":"' .. sku .. '","cases":' .. cases .. '}')
  end
  local who = (counter % #auths) + 1
  local body = '{"lines":[' .. table.concat(parts, ",") .. '],"address_id":' .. addresses[who] .. '}'
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. auths[who],
    ["Idempotency-Key"] = tag .. "-" .. id .. "-" .. counter,
  }
  return wrk.format("POST", "/api/v1/wholesale/orders", headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  if status == 201 then
    key = key .. "-" .. (string.match(body, '"credit_state":"(%a+)"') or "placed")
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do total[key] = (total[key] or 0) + n end
  end
  local out = io.open(os.getenv("OUT"), "w")
  for key, n in pairs(total) do out:write(key .. "=" .. n .. "\n") end
  out:close()
end
