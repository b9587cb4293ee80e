-- wrk: random 1 MiB byte ranges of one large file (SIZE bytes, from the environment).
local size = tonumber(os.getenv("SIZE"))
local chunk = 1024 * 1024
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  local start = math.random(0, size - chunk - 1)
  return wrk.format("GET", os.getenv("URLPATH"), { ["Range"] = "bytes=" .. start .. "-" .. (start + chunk - 1) })
end
