-- wrk script: every request is a PUT of a small JSON value.
wrk.method = "PUT"
wrk.body = '{"value": "benchmark value"}'
wrk.headers["Content-Type"] = "application/json"
