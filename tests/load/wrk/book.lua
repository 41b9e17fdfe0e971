-- (e), (ew) booking create at contended facilities: a random driver, JWT and window
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "lib.lua")
request = lib.book
