-- wrk script of bench/benchmark.py: counts the page cache's hits and misses (the X-Cache
-- header) over every thread, and prints one machine-readable line at the end.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   hits = 0
   misses = 0
end

function response(status, headers, body)
   local cache = headers["X-Cache"]
   if cache == "hit" then
      hits = hits + 1
   elseif cache == "miss" then
      misses = misses + 1
   end
end

function done(summary, latency, requests)
   local all_hits, all_misses = 0, 0
   for _, thread in ipairs(threads) do
      all_hits = all_hits + thread:get("hits")
      all_misses = all_misses + thread:get("misses")
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, ' ..
      '"failures": %d, "hits": %d, "misses": %d}\n',
      summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
      latency:percentile(95) / 1000,
      errors.connect + errors.read + errors.write + errors.timeout + errors.status,
      all_hits, all_misses))
end
