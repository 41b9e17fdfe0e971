-- (a0), (a), (e0): the same request every time: data.method (GET) to data.path
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "lib.lua")
request = lib.static()
