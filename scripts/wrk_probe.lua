-- wrk script: a paced probe (one request every 5 ms per connection), so that the
-- latency it reports is the server's, not the probe's own queue.
--   wrk -t1 -c2 -d10s --latency -s scripts/wrk_probe.lua http://ADDR/health
function delay()
  return 5
end
