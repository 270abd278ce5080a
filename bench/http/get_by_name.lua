-- wrk: GET /api/v1/Customer/CUST-nnnnn, a random one of the first M_BENCH_ROWS (default 10000)
-- customers per request. The Authorization header comes from wrk -H.
local rows = tonumber(os.getenv("M_BENCH_ROWS") or "10000")

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init()
  math.randomseed(seed or os.time())
end

request = function()
  return wrk.format("GET", string.format("/api/v1/Customer/CUST-%05d", math.random(1, rows)))
end
