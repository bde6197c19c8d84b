-- wrk script of bench/checks.py: POST /api/v1/checks for a random code of BENCH_CODES (one
-- per line), or GET /healthz when BENCH_MODE is "healthz". Each response is classified
-- (found / not found / not 200) and done() prints one "WRK {json}" line for checks.py.
local mode = os.getenv("BENCH_MODE") or "checks"
local token = os.getenv("BENCH_TOKEN") or ""
local matter = os.getenv("BENCH_MATTER") or "ZFCG"
local codes = {}
if mode == "checks" then
  for line in io.lines(os.getenv("BENCH_CODES")) do
    codes[#codes + 1] = line
  end
end
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed)
  found, not_found, failed = 0, 0, 0
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
end

function request()
  if mode == "healthz" then
    return wrk.format("GET", "/healthz")
  end
  local code = codes[math.random(#codes)]
  local body = '{"subject":"' .. code .. '","matter":"' .. matter
    .. '","purpose":"基准测试：政府采购"}'
  return wrk.format("POST", "/api/v1/checks", headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
  elseif body:find('"found":%s*true') then
    found = found + 1
  else
    not_found = not_found + 1
  end
end

function done(summary, latency, requests)
  local f, n, x = 0, 0, 0
  for _, thread in ipairs(threads) do
    f = f + thread:get("found")
    n = n + thread:get("not_found")
    x = x + thread:get("failed")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"socket_errors":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p99_us":%d,"max_us":%d,"found":%d,"not_found":%d,"not_200":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    f, n, x))
end
