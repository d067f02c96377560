-- wrk script of bench/containers.py: counts every answer outside 200-299 as an error. wrk's own
-- count leaves 3xx out, and a refused request (303 to the login page) would pass for served.
-- Each wrk thread has its own Lua state: `not_2xx` is per thread, summed in done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    not_2xx = not_2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("not_2xx")
  end
  io.write(string.format("Not 2xx: %d\n", total))
end
