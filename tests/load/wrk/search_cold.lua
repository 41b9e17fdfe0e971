-- (c) search with prices, a new query each time, response cache bypassed
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "lib.lua")
request = lib.search_cold
