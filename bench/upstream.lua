-- wrk script for the floor: replays upstream requests straight at one simulator, round robin.
-- $BENCH_REQUESTS_FILE holds one request a line: METHOD<TAB>PATH<TAB>BODY (BODY may be empty).
-- $BENCH_AUTH_HEADER / $BENCH_AUTH_VALUE carry the simulator's credential.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_REQUESTS_FILE")
  local headers = { ["Content-Type"] = "application/json" }
  headers[os.getenv("BENCH_AUTH_HEADER")] = os.getenv("BENCH_AUTH_VALUE")
  reqs = {}
  for line in io.lines(path) do
    local method, p, body = string.match(line, "^([^\t]*)\t([^\t]*)\t?(.*)$")
    if method then
      if body == "" then body = nil end
      table.insert(reqs, wrk.format(method, p, headers, body))
    end
  end
  idx = 0
  checked = 0
  gql_errors = 0
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function response(status, headers, body)
  checked = checked + 1
end

function done(summary, latency, requests)
  local seen = 0
  for _, t in ipairs(threads) do
    seen = seen + (t:get("checked") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"gql_errors":0,"checked":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    seen, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
