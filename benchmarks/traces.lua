-- wrk script: POST pre-encoded OTLP/HTTP protobuf batches (512 spans each), in turn.
-- Arguments after `--`: the folder holding batch-N.pb and how many there are.
local bodies = {}
local next_body = 1

init = function(args)
  local folder, count = args[1], tonumber(args[2])
  for i = 1, count do
    local file = assert(io.open(folder .. "/batch-" .. i .. ".pb", "rb"))
    bodies[i] = file:read("*all")
    file:close()
  end
end

request = function()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/v1/traces", { ["Content-Type"] = "application/x-protobuf" }, body)
end
