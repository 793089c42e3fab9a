-- Authenticated MCP `tools/list` (access token from LOAD_ACCESS_TOKEN), every answer checked.
package.path = os.getenv("LOAD_DIR") .. "/?.lua;" .. package.path
require("common")

wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LOAD_ACCESS_TOKEN")

function response(status, headers, body)
   if status == 200 and not string.find(body, '"tools"', 1, true) then
      status = 599 -- a 200 without the tool list counts as a failure
   end
   count(status)
end
