-- wrk script: a login flood, POST /api/v1/session.
--   wrk -t1 -c32 -d20s -s scripts/wrk_login.lua http://ADDR -- USER PASSWORD
-- With the real password every request costs one argon2 verification; with a
-- wrong one the throttle answers 401 and then 429 (Retry-After) without hashing.
-- Status counts are printed at the end.
local counts = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local user = args[1] or "officer"
  local password = args[2] or "wrong password"
  wrk.method = "POST"
  wrk.path = "/api/v1/session"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = string.format('{"username":"%s","password":"%s"}', user, password)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. "=" .. v) end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
