-- Shared by the load scripts: counts answers per thread and reports them from done().
local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
   table.insert(threads, thread)
end

function count(status)
   answered = (answered or 0) + 1
   if status < 200 or status > 299 then
      non2xx = (non2xx or 0) + 1
      if (non2xx or 0) <= 3 then
         io.stderr:write("non-2xx answer: " .. status .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, bad,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
