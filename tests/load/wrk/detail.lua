-- (d) a random facility's detail
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "lib.lua")
request = lib.detail
