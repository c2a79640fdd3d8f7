-- wrk script: GET /api/v1/facilities/nearest at random points in Manas County's bbox.
--   wrk -t2 -c64 -d15s --latency -s scripts/wrk_nearest.lua http://ADDR [-- KIND]
-- Optional script arguments: KIND adds `&kind=KIND` (e.g. care_home; "" for any),
-- LIMIT sets `&limit=` (default 5).
-- Fixed seeds (one per wrk thread) make every run request the same points.

local LON_MIN, LON_MAX = 85.6, 86.55
local LAT_MIN, LAT_MAX = 43.4, 45.33

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  math.randomseed(20240601 + (id or 0))
  suffix = "&limit=" .. ((args[2] ~= nil and args[2] ~= "") and args[2] or "5")
  if args[1] ~= nil and args[1] ~= "" then
    suffix = suffix .. "&kind=" .. args[1]
  end
end

function request()
  local lon = LON_MIN + math.random() * (LON_MAX - LON_MIN)
  local lat = LAT_MIN + math.random() * (LAT_MAX - LAT_MIN)
  local path = string.format("/api/v1/facilities/nearest?lon=%.6f&lat=%.6f%s", lon, lat, suffix)
  return wrk.format("GET", path)
end
