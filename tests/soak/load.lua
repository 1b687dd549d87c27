-- load.lua — wrk script of the loopback load (tests/soak/server.py): a mix of
-- reads (digest, a process, /proc/meminfo), touches (writes to a random page
-- of pid 1's mapping), forks of pid 1 and exits of the children those forks
-- made.  Arguments: "m-1=0xADDR" per machine (pid 1's 4 MiB mapping); forks
-- and exits go to the first machine (a fork's answer names no machine), the
-- rest to any.  Any answer other than 200 or 429 is bad; done() prints
-- "statuses {…} bad N" and the latency percentiles for the runner.

local machines, addrs = {}, {}
local threads = {}
local json_hdr = {["Content-Type"] = "application/json"}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   for _, a in ipairs(args) do
      local m, addr = a:match("([^=]+)=(.+)")
      table.insert(machines, m)
      addrs[m] = tonumber(addr)
   end
   math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16))
   children = {}   -- pids of this thread's live children (first machine)
   statuses = {}
   bad = 0
end

function request()
   local m = machines[math.random(#machines)]
   local base = "/v1/machines/" .. m
   local forks = "/v1/machines/" .. machines[1] .. "/processes/"
   if #children > 0 and math.random() < 0.3 then
      return wrk.format("POST", forks .. table.remove(children, 1) .. ":exit",
                        json_hdr, "{}")
   end
   local r = math.random()
   if r < 0.15 then
      return wrk.format("GET", base .. "/digest")
   elseif r < 0.3 then
      return wrk.format("GET", base .. "/processes/1")
   elseif r < 0.4 then
      return wrk.format("GET", base .. "/proc/meminfo")
   elseif r < 0.8 then
      local addr = string.format("0x%x", addrs[m] + math.random(0, 1023) * 4096)
      return wrk.format("POST", base .. "/processes/1:touch", json_hdr,
                        '{"addr":"' .. addr .. '","length":"4K","access":"write"}')
   end
   return wrk.format("POST", forks .. "1:fork", json_hdr, "{}")
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status ~= 200 and status ~= 429 then
      bad = bad + 1
   end
   local pid = body and body:match('^{"pid":(%d+)}')
   if pid then
      table.insert(children, pid)
   end
end

function done(summary, latency, requests)
   local total_bad, all = 0, {}
   for _, t in ipairs(threads) do
      total_bad = total_bad + t:get("bad")
      for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
   end
   local parts = {}
   for k, v in pairs(all) do table.insert(parts, k .. "=" .. v) end
   table.sort(parts)
   io.write(string.format("statuses {%s} bad %d\n", table.concat(parts, ","), total_bad))
   io.write(string.format("latency p50 %.2f ms p99 %.2f ms max %.2f ms\n",
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          latency.max / 1000))
end
