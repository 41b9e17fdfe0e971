-- (f) mixed: 80% warm search, 15% detail, 5% booking create
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "lib.lua")
request = lib.mixed
