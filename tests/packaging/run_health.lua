-- run_health.lua SCRIPT OBJECT: run an Argo CD health script against one
-- object (a Lua file returning the object table) and print "<status>\t<message>".
-- The script runs in an environment like Argo CD's (gopher-lua with only the
-- base, table and package libraries plus a safe os): no io, string, math or
-- debug, so a script relying on them fails here as it would in Argo CD.
local script, objfile = arg[1], arg[2]
local obj = assert(dofile(objfile))
local env = { obj = obj, table = table, os = { time = os.time, date = os.date, clock = os.clock } }
for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "rawequal",
  "rawget", "rawset", "select", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION" }) do
  env[name] = _G[name]
end
env._G = env
local chunk = assert(loadfile(script))
setfenv(chunk, env)
local hs = chunk()
if type(hs) ~= "table" or type(hs.status) ~= "string" then
  error("health script returned no {status=...} table")
end
if hs.message ~= nil and type(hs.message) ~= "string" then
  error("health script returned a non-string message")
end
print(hs.status .. "\t" .. tostring(hs.message))
