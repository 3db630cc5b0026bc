-- PDA calls from a file of parcels, one different parcel per request, for wrk.
-- PDA_FILE: one parcel a line, "<tracking number>" (scan-in) or "<tracking number> <pickup code>"
-- (handover). PDA_PATH: the call (/api/v1/pda/scan-in or /api/v1/pda/handover). PDA_TOKEN: the
-- operator's bearer token. Each thread takes every n-th line (n = thread count), so no parcel is
-- sent twice; a thread stops when its lines run out. Idempotency-Key: one per parcel and call.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local nthreads = tonumber(os.getenv("PDA_THREADS") or "1")
   path = os.getenv("PDA_PATH")
   token = os.getenv("PDA_TOKEN")
   handover = string.find(path, "handover") ~= nil
   lines = {}
   local n = 0
   for line in io.lines(os.getenv("PDA_FILE")) do
      if n % nthreads == id then
         table.insert(lines, line)
      end
      n = n + 1
   end
   next_line = 1
   sent = 0
   non2xx = 0
end

function request()
   local line = lines[next_line]
   if line == nil then
      wrk.thread:stop()
      line = lines[#lines]  -- a replay of the last parcel, never counted: the thread stops now
   else
      next_line = next_line + 1
      sent = sent + 1
   end
   local tracking, code = string.match(line, "^(%S+)%s*(%S*)$")
   local body
   if handover then
      body = string.format('{"tracking_number":"%s","pickup_code":"%s","collect_method":"cash"}', tracking, code)
   else
      body = string.format('{"tracking_number":"%s"}', tracking)
   end
   local kind = handover and "hand" or "scan"
   local headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. token,
      ["Idempotency-Key"] = kind .. "-" .. tracking,
   }
   return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if non2xx <= 3 then
         io.stderr:write("PDA " .. status .. ": " .. body .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local total_sent, total_bad = 0, 0
   for _, thread in ipairs(threads) do
      total_sent = total_sent + thread:get("sent")
      total_bad = total_bad + thread:get("non2xx")
   end
   io.write(string.format("PDA parcels sent: %d, non-2xx: %d\n", total_sent, total_bad))
end
