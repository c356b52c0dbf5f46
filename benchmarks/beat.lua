-- wrk script: push beats to 1,000 registered services, chosen at random.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"latency_ms": 12.5}'

request = function()
  local path = "/api/v1/heartbeat/svc-" .. math.random(0, 999) .. "/beat"
  return wrk.format(nil, path)
end
