-- (g) an itemised quote (and token) for a random facility and window
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "lib.lua")
request = lib.quote
