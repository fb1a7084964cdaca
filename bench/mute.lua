-- wrk script: POST .../token/mute with a different token per request.
-- usage: wrk -s bench/mute.lua URL -- KEY PATH
local key, path
local n = 0
function init(args)
  key = args[1]
  path = args[2]
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end
function request()
  n = n + 1
  local token = math.random(1, 1000000)
  local body = '{"token": "' .. token .. '", "duration": 3600}'
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }, body)
end
