-- wrk script: an authenticated MCP `ping` (token from BENCH_TOKEN), the smallest request the
-- endpoint answers after the same bearer check as tools/list.
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"ping"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
