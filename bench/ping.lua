-- wrk script: GET /v1/ping, the authenticated no-op baseline.
-- usage: wrk -s bench/ping.lua URL -- KEY
local key
function init(args)
  key = args[1]
end
function request()
  return wrk.format("GET", "/v1/ping", { ["Authorization"] = "Bearer " .. key })
end
