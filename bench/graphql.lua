-- wrk script: POST one GraphQL body (file named by $BENCH_BODY_FILE) over and over.
-- Counts responses whose body carries a GraphQL "errors" member and prints one JSON line
-- (prefixed "BENCH_JSON ") with the summary and latency percentiles, in microseconds.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_BODY_FILE")
  local f = assert(io.open(path, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  gql_errors = 0
  checked = 0
end

function response(status, headers, body)
  checked = checked + 1
  if body and string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
end

function done(summary, latency, requests)
  local gql, seen = 0, 0
  for _, t in ipairs(threads) do
    gql = gql + (t:get("gql_errors") or 0)
    seen = seen + (t:get("checked") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"gql_errors":%d,"checked":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    gql, seen, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
