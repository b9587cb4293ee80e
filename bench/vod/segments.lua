-- wrk: HLS VOD segments in turn (cold: every request a segment not asked for before in this run,
-- until the list wraps), from BASE/0.ts to BASE/(N-1).ts.
local n = tonumber(os.getenv("SEGMENTS"))
local base = os.getenv("BASE")
local i = -1
request = function()
  i = (i + 1) % n
  return wrk.format("GET", base .. "/" .. i .. ".ts")
end
