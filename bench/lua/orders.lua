-- Pay-at-pickup shop orders for wrk: one line each, SKUs and stations taken in turn from the
-- comma-separated lists in SKUS and STATIONS, a fresh Idempotency-Key per request (TAG + thread +
-- counter). Answers are counted by status and written to OUT (status=count per line) at the end.
local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do table.insert(items, item) end
  return items
end

local skus = split(os.getenv("SKUS"))
local stations = split(os.getenv("STATIONS"))
local tag = os.getenv("TAG") or "bench"
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

local counter = 0
counts = {}  -- a global: done() reads each thread's copy with thread:get

function init(args)
  counts = {}
end

function request()
  counter = counter + 1
  local sku = skus[(counter % #skus) + 1]
  local station = stations[(math.floor(counter / #skus) % #stations) + 1]
  local body = '{"lines":[{"sku":"' .. sku .. '","quantity":"1"}],'
    .. '"delivery":{"method":"station_pickup","station_code":"' .. station .. '"},'
    .. '"contact":{"name":"压测","phone":"13800138000"},"payment_method":"pay_at_pickup"}'
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = tag .. "-" .. id .. "-" .. counter}
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  local out = io.open(os.getenv("OUT"), "w")
  for status, n in pairs(total) do out:write(status .. "=" .. n .. "\n") end
  out:close()
end
