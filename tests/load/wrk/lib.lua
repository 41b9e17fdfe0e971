-- Shared by the bench's wrk scripts (tests/load/bench.py runs them). Each scenario script
-- loads this file, then sets `request` to one of the generators below.
--
--   wrk -t2 -c64 -d10s -s tests/load/wrk/<scenario>.lua http://127.0.0.1:8099 -- <data.lua>
--
-- <data.lua> is written by bench.py: a Lua table (`return {...}`) with what the requests
-- draw from (queries, facility ids, bookers with their JWTs, a time origin). Every thread
-- counts the responses per status; when the run is done, one line is printed:
--
--   PARKME_WRK {"requests": N, "duration_us": N, "statuses": {"200": N},
--               "errors": {...}, "latency_us": {"p50": N, "p95": N, "p99": N, ...}}

local lib = {}
local threads = {}

-- main state: number the threads so each seeds its own random sequence
function setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_id", #threads)
end

statuses = {}
data = {}

function init(args)
   math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
   if args[1] then
      data = dofile(args[1])
   end
   if lib.on_init then
      lib.on_init()
   end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

local function json_object(t)
   local parts = {}
   for k, v in pairs(t) do
      parts[#parts + 1] = string.format('"%s": %s', tostring(k), tostring(v))
   end
   table.sort(parts)
   return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses") or {}) do
         counts[code] = (counts[code] or 0) + n
      end
   end
   local lat = {
      p50 = latency:percentile(50),
      p95 = latency:percentile(95),
      p99 = latency:percentile(99),
      mean = string.format("%.1f", latency.mean),
      max = latency.max,
   }
   io.write("PARKME_WRK {"
      .. '"requests": ' .. summary.requests
      .. ', "duration_us": ' .. summary.duration
      .. ', "statuses": ' .. json_object(counts)
      .. ', "errors": ' .. json_object(summary.errors)
      .. ', "latency_us": ' .. json_object(lat)
      .. "}\n")
end

-- --- request building -----------------------------------------------------------------

local function pick(list)
   return list[math.random(#list)]
end

-- ISO 8601 in UTC ("Z": no "+" to escape in a query string)
local function iso(epoch)
   return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch)
end

local HOUR = 3600

function lib.get(path, headers)
   return wrk.format("GET", path, headers)
end

-- (a0), (a), (e0): one request, the same every time (data.method, data.path)
function lib.static()
   local req
   return function()
      req = req or wrk.format(data.method or "GET", data.path or wrk.path)
      return req
   end
end

-- (b): the warm-cache search, drawn from a fixed set of queries
function lib.search_warm()
   return lib.get("/api/v1/facilities/?" .. pick(data.warm_queries))
end

-- (c): a different search every time, and the response cache told to step aside
function lib.search_cold()
   local point = pick(data.points)
   local starts = data.now + math.random(1, 24 * 20) * HOUR
   local ends = starts + math.random(1, 8) * HOUR
   local query = string.format(
      "lat=%.5f&lng=%.5f&radius_km=5&starts_at=%s&ends_at=%s",
      point[1] + (math.random() * 0.02 - 0.01),
      point[2] + (math.random() * 0.02 - 0.01),
      iso(starts),
      iso(ends)
   )
   return lib.get("/api/v1/facilities/?" .. query, { ["Cache-Control"] = "no-cache" })
end

-- (d): one facility's detail
function lib.detail()
   return lib.get("/api/v1/facilities/" .. pick(data.facilities) .. "/")
end

-- (g): an itemised quote for a random window of 1 to 30 hours
function lib.quote()
   local starts = data.now + math.random(1, 24 * 20) * HOUR
   local ends = starts + math.random(1, 30) * HOUR
   return lib.get(string.format(
      "/api/v1/facilities/%d/quote/?starts_at=%s&ends_at=%s",
      pick(data.facilities), iso(starts), iso(ends)
   ))
end

-- (e), (ew): a driver (their own JWT and vehicle) books 1 to 4 hours at a contended
-- facility; each body is drawn afresh, so conflicts (409) come from real contention
function lib.book()
   local booker = pick(data.bookers)
   local starts = data.now + math.random(1, 20) * 24 * HOUR + math.random(0, 23) * HOUR
   local ends = starts + math.random(1, 4) * HOUR
   local body = string.format(
      '{"facility": %d, "vehicle": %d, "starts_at": "%s", "ends_at": "%s"}',
      pick(data.contended), booker[2], iso(starts), iso(ends)
   )
   return wrk.format("POST", "/api/v1/bookings/", {
      ["Authorization"] = "Bearer " .. booker[1],
      ["Content-Type"] = "application/json",
   }, body)
end

-- (f): 80% warm search, 15% detail, 5% booking
function lib.mixed()
   local roll = math.random()
   if roll < 0.80 then
      return lib.search_warm()
   elseif roll < 0.95 then
      return lib.detail()
   end
   return lib.book()
end

return lib
