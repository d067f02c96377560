-- wrk script for the sustained-load check: a mix of reads, writes and the HTML page, so the
-- load reaches every layer (gunicorn, Flask, CSRF/session, Redis). Writes cycle over 100 keys,
-- so Redis holds a fixed amount of data however long the run. `done` prints one JSON line.
local counter = 0
local body = '{"value": "' .. string.rep("x", 512) .. '"}'
local json = { ["Content-Type"] = "application/json" }
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failed_statuses = {} -- per thread; `done` merges them
  -- The bearer token of `-H Authorization: ...` (test_load.py): wrk sends wrk.headers only
  -- with requests that bring no headers of their own, and the writes do.
  json["Authorization"] = wrk.headers["Authorization"]
end

function request()
  counter = counter + 1
  local kind = counter % 4
  if kind == 0 then
    return wrk.format("PUT", "/api/v1/keys/load-" .. (counter % 100), json, body)
  elseif kind == 1 then
    return wrk.format("GET", "/")
  end
  return wrk.format("GET", "/api/v1/keys/load-seed")
end

function response(status, headers, body)
  if status >= 400 then
    failed_statuses[status] = (failed_statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local merged, statuses = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("failed_statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  for status, count in pairs(merged) do
    table.insert(statuses, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'PROOF {"requests": %d, "bytes": %d, "seconds": %.1f, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "http_errors": %d, "p99_ms": %.1f, "statuses": {%s}}\n',
    summary.requests, summary.bytes, summary.duration / 1e6, errors.connect, errors.read,
    errors.write, errors.timeout, errors.status, latency:percentile(99) / 1e3,
    table.concat(statuses, ", ")))
end
