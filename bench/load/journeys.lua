-- wrk script of bench/scenarios/http_load.py: GET each path in turn, as one signed-in
-- staff member on one site host, and report what wrk measured as one JSON line.
--   wrk ... <url> -s bench/load/journeys.lua -- <host> <cookie> <path> [<path> ...]
-- Non-2xx answers are counted here (wrk itself counts only >= 400 as errors).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local paths = {}
local next_path = 1
-- Globals, so that done() can read each thread's counts (thread:get).
answered, non_2xx, statuses = 0, 0, {}

function init(args)
  wrk.headers["Host"] = args[1]
  wrk.headers["Cookie"] = args[2]
  wrk.headers["Accept"] = "text/html,application/json"
  for i = 3, #args do
    table.insert(paths, args[i])
  end
  -- Threads start at different paths, so every path is asked for from the first second.
  next_path = ((id or 1) * 7 - 1) % #paths + 1
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total_answered, total_non_2xx, by_status = 0, 0, {}
  for _, thread in ipairs(threads) do
    total_answered = total_answered + thread:get("answered")
    total_non_2xx = total_non_2xx + thread:get("non_2xx")
    for status, count in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(by_status) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "answered": %d, "non_2xx": %d, '
      .. '"non_2xx_statuses": {%s}, "connect": %d, "read": %d, "write": %d, '
      .. '"timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, total_answered, total_non_2xx,
    table.concat(parts, ", "), errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end
