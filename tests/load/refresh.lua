-- /token refresh_token grants. Run with as many threads as connections (-t N -c N): each thread
-- then drives one connection, in order, and owns one refresh-token family (line `id` of
-- LOAD_REFRESH_FILE). Every answer's new refresh token is carried into the next request, so
-- every request is a valid rotation.
package.path = os.getenv("LOAD_DIR") .. "/?.lua;" .. package.path
require("common")

local function encode(s)
   return (string.gsub(s, "[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

function init(args)
   local n = 0
   for line in io.lines(os.getenv("LOAD_REFRESH_FILE")) do
      n = n + 1
      if n == id then
         token = line
      end
   end
   assert(token, "no refresh token for thread " .. tostring(id))
   client_id = os.getenv("LOAD_CLIENT_ID")
end

function request()
   local body = "grant_type=refresh_token&client_id=" .. encode(client_id)
      .. "&refresh_token=" .. encode(token)
   return wrk.format("POST", "/token",
      { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function response(status, headers, body)
   if status == 200 then
      local rotated = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
      if rotated then
         token = rotated
      else
         status = 599
      end
   end
   count(status)
end
