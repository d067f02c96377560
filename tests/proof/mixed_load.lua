-- wrk script for the sustained-load check: a mix of reads, writes and the HTML page, so the
-- load reaches every layer (gunicorn, Flask, CSRF/session, Redis). Writes cycle over 100 keys,
-- so Redis holds a fixed amount of data however long the run. `done` prints one JSON line.
local counter = 0
local body = '{"value": "' .. string.rep("x", 512) .. '"}'
local json = { ["Content-Type"] = "application/json" }

request = function()
  counter = counter + 1
  local kind = counter % 4
  if kind == 0 then
    return wrk.format("PUT", "/api/v1/keys/load-" .. (counter % 100), json, body)
  elseif kind == 1 then
    return wrk.format("GET", "/")
  end
  return wrk.format("GET", "/api/v1/keys/load-seed")
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'PROOF {"requests": %d, "bytes": %d, "seconds": %.1f, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "http_errors": %d, "p99_ms": %.1f}\n',
    summary.requests, summary.bytes, summary.duration / 1e6, errors.connect, errors.read,
    errors.write, errors.timeout, errors.status, latency:percentile(99) / 1e3))
end
