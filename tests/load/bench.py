"""`make bench`: ParkMe under load, each scenario against floors measured in the same run.

Starts gunicorn with production settings (DEBUG off, sync workers as
deploy/gunicorn.conf.py sizes them) on real PostgreSQL and Redis (embedded unless
DATABASE_URL / REDIS_URL are set), seeds a realistic dataset once, warms up, then drives
each scenario for a bounded time with 64 concurrent connections, and prints one table. The
scenarios take turns (--rounds, 3 by default: each runs a third of its time per round), so
a scenario and the floors it is compared with share whatever else the machine is doing.
Afterwards it checks in SQL that no two live bookings overlap on a spot and prints each web
worker's RSS.

Two floors, measured in the same run: (a0) plain Django with no middleware and no apps
(tests/load/floor_wsgi.py) on the same gunicorn settings, and (a) ParkMe's bare JSON view
through ParkMe's whole middleware stack. Every scenario's ratio is printed against both;
the writes also against (e0), a bare lock-a-row-and-insert view.

The load generator is wrk (a separate C process; the Lua scripts in tests/load/wrk/ vary the
queries, bodies and tokens and count the statuses). Without wrk on PATH the bench falls back
to an in-process aiohttp generator, and its header says so.

    python -m tests.load.bench [--seconds 12] [--rounds 3] [--connections 64]
                               [--generator wrk|aiohttp] [--only a0,a,b] [--reseed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "parkme_bench"
WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
# Turns are about half a minute apart: the 200 details of a new minute, built once and
# copied by each of the 5 workers, take about 3 CPU-seconds; 1 s of warming was not enough.
REWARM_SECONDS = 2

# The targets of issue 17, checked at the end of each run: (scenario, floor, at least).
TARGETS = [("a", "a0", 0.60), ("b", "a", 0.45), ("d", "a", 0.50), ("c", "a", 0.15)]
WRITE_TARGET = ("e", "e0", 0.35)
RSS_TARGET_MB = 120


# --- environment ---------------------------------------------------------------------------


def _database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        return f"{base}/{BENCH_DB}"
    from parkme import devservices

    db = devservices.postgres_settings()
    return f"postgres://postgres@{quote(db['HOST'], safe='')}:{db['PORT']}/{BENCH_DB}"


def _redis_url() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    from parkme import devservices

    return devservices.redis_url(2)


def bench_env(port: int) -> dict[str, str]:
    rate = "10000000/minute"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": _redis_url(),
        "CACHE_KEY_PREFIX": "parkme-bench",
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "SENTRY_DSN": "",
        "THROTTLE_ANON": rate,
        "THROTTLE_USER": rate,
        "THROTTLE_BOOKING": rate,
        "THROTTLE_BOOKING_BURST": rate,
        "THROTTLE_GATE": rate,
        "BOOKING_MAX_LIVE_PER_DRIVER": "1000",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESSLOG": "",
        "GUNICORN_MAX_REQUESTS": "0",
    }


def _ensure_database(env: dict[str, str]) -> None:
    import psycopg

    from config.settings.base import parse_database_url

    cfg = parse_database_url(env["DATABASE_URL"])
    with psycopg.connect(
        host=cfg["HOST"],
        port=cfg["PORT"],
        user=cfg["USER"],
        password=cfg["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


# --- load ----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # connect, read, write errors and timeouts
    p50: float = float("nan")  # milliseconds
    p95: float = float("nan")
    p99: float = float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return self.errors + sum(n for code, n in self.statuses.items() if code >= 500)


def combine(parts: list[Result]) -> Result:
    """One row from a scenario's rounds: requests and time summed, each latency percentile
    the request-weighted mean of the rounds' (wrk reports percentiles, not samples)."""
    total = Result(parts[0].name)
    for part in parts:
        total.requests += part.requests
        total.seconds += part.seconds
        total.errors += part.errors
        for code, n in part.statuses.items():
            total.statuses[code] = total.statuses.get(code, 0) + n
    weight = sum(p.requests for p in parts) or 1
    for name in ("p50", "p95", "p99"):
        setattr(total, name, sum(getattr(p, name) * p.requests for p in parts) / weight)
    return total


def _pct(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def drive_aiohttp(base: str, make_request, seconds: float, connections: int, name: str):
    """The fallback generator: aiohttp in this process (it shares the cores with gunicorn
    and costs more CPU per request than wrk, so its figures are lower)."""
    import aiohttp

    latencies: list[float] = []
    result = Result(name)
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while time.monotonic() < deadline:
                method, path, kwargs = make_request()
                started = time.perf_counter()
                try:
                    async with session.request(method, path, **kwargs) as response:
                        await response.read()
                        status = response.status
                except (TimeoutError, aiohttp.ClientError):
                    result.errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        result.seconds = time.monotonic() - began
    latencies.sort()
    result.requests = len(latencies)
    result.p50, result.p95, result.p99 = (_pct(latencies, p) for p in (0.50, 0.95, 0.99))
    return result


def to_lua(value) -> str:
    """A Python value (dict, list, str, int, float, bool) as a Lua table constructor."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if not value.isascii():
            raise ValueError(f"wrk data must be ASCII: {value!r}")
        return json.dumps(value)  # ASCII JSON escapes (\" \\ \n) are Lua's too
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{to_lua(k)}] = {to_lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(to_lua(v) for v in value) + "}"
    raise TypeError(f"cannot write {type(value).__name__} for wrk")


def write_wrk_data(path: Path, data: dict) -> Path:
    path.write_text("return " + to_lua(data) + "\n")
    return path


def parse_wrk_output(name: str, stdout: str) -> Result:
    """The PARKME_WRK line printed by tests/load/wrk/lib.lua's done()."""
    for line in stdout.splitlines():
        if line.startswith("PARKME_WRK "):
            summary = json.loads(line[len("PARKME_WRK ") :])
            break
    else:
        raise RuntimeError(f"wrk printed no PARKME_WRK summary:\n{stdout[-2000:]}")
    latency = summary["latency_us"]
    errors = summary["errors"]
    return Result(
        name,
        requests=int(summary["requests"]),
        seconds=summary["duration_us"] / 1e6,
        statuses={int(code): int(n) for code, n in summary["statuses"].items()},
        errors=sum(int(errors.get(k, 0)) for k in ("connect", "read", "write", "timeout")),
        p50=latency["p50"] / 1000,
        p95=latency["p95"] / 1000,
        p99=latency["p99"] / 1000,
    )


def drive_wrk(
    base: str, script: str, data_file: Path, seconds: float, connections: int, threads: int, name
) -> Result:
    command = [
        "wrk",
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=30s",
        f"--script={WRK_SCRIPTS / script}",
        base,
        "--",
        str(data_file),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk_output(name, done.stdout)


# --- scenarios -----------------------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    make_request: object  # () -> (method, path, aiohttp kwargs): the aiohttp generator
    script: str  # tests/load/wrk/<script>: the wrk generator
    floors: tuple[str, ...]  # the rows its ratios are printed against
    server: str = "parkme"  # or "floor": (a0) runs on plain Django
    data: dict = field(default_factory=dict)  # what its wrk script needs besides the common
    # Warm again (REWARM_SECONDS, not counted) before each turn: the writes of other
    # scenarios invalidate the cached responses it is about, and a detail asked without a
    # window (the next hour from the current minute) has new cache keys every minute.
    rewarm: bool = False


def scenarios(facility_ids: list[int], contended: list[int], bookers, tokens):
    """{key: Scenario}, and the data every wrk script draws from (tests/load/wrk/lib.lua)."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    points = [(60.17 + dx * 0.01, 24.94 + dy * 0.02) for dx in range(-2, 3) for dy in range(-2, 2)]
    windows = [
        (now + timedelta(days=d, hours=h), now + timedelta(days=d, hours=h + 3))
        for d in (1, 2)
        for h in (8, 12)
    ]
    warm_queries = [
        {
            "lat": f"{lat:.4f}",
            "lng": f"{lng:.4f}",
            "radius_km": "5",
            "starts_at": s.isoformat(),
            "ends_at": e.isoformat(),
        }
        for lat, lng in points
        for s, e in windows
    ]
    common = {
        "now": int(now.timestamp()),
        "points": [list(p) for p in points],
        "warm_queries": [urlencode(q) for q in warm_queries],
        "facilities": facility_ids,
        "contended": contended,
        "bookers": [[tokens[user_id], vehicle_id] for user_id, vehicle_id in bookers],
    }

    def search_warm():
        return "GET", "/api/v1/facilities/", {"params": random.choice(warm_queries)}

    def search_cold():
        lat, lng = random.choice(points)
        start = now + timedelta(hours=random.randint(1, 24 * 20))
        return (
            "GET",
            "/api/v1/facilities/",
            {
                "params": {
                    "lat": f"{lat + random.uniform(-0.01, 0.01):.5f}",
                    "lng": f"{lng + random.uniform(-0.01, 0.01):.5f}",
                    "radius_km": "5",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=random.randint(1, 8))).isoformat(),
                },
                "headers": {"Cache-Control": "no-cache"},
            },
        )

    def detail():
        return "GET", f"/api/v1/facilities/{random.choice(facility_ids)}/", {}

    def quote():
        start = now + timedelta(hours=random.randint(1, 24 * 20))
        return (
            "GET",
            f"/api/v1/facilities/{random.choice(facility_ids)}/quote/",
            {
                "params": {
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=random.randint(1, 30))).isoformat(),
                }
            },
        )

    def book():
        user_id, vehicle_id = random.choice(bookers)
        start = now + timedelta(days=random.randint(1, 20), hours=random.randint(0, 23))
        body = {
            "facility": random.choice(contended),
            "vehicle": vehicle_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=random.randint(1, 4))).isoformat(),
        }
        return (
            "POST",
            "/api/v1/bookings/",
            {
                "data": json.dumps(body),
                "headers": {
                    "Authorization": f"Bearer {tokens[user_id]}",
                    "Content-Type": "application/json",
                },
            },
        )

    write_path = "/bench/write/?ids=" + ",".join(map(str, contended))

    def write_baseline():
        return "POST", write_path, {}

    def mixed():
        roll = random.random()
        if roll < 0.80:
            return search_warm()
        if roll < 0.95:
            return detail()
        return book()

    def hello():
        return "GET", "/bench/hello/", {}

    def hello_redis():
        return "GET", "/bench/redis/", {}

    floors = ("a0", "a")
    static_hello = {"method": "GET", "path": "/bench/hello/"}
    plan = {
        "a0": Scenario(
            "(a0) floor: plain Django, no middleware",
            hello,
            "static.lua",
            (),
            server="floor",
            data=static_hello,
        ),
        "a": Scenario(
            "(a) floor: ParkMe bare view, whole stack",
            hello,
            "static.lua",
            ("a0",),
            data=static_hello,
        ),
        "ar": Scenario(
            "(ar) floor (a) + one Redis round trip",
            hello_redis,
            "static.lua",
            floors,
            data={"method": "GET", "path": "/bench/redis/"},
        ),
        "b": Scenario(
            "(b) search with prices, warm cache",
            search_warm,
            "search_warm.lua",
            floors,
            rewarm=True,
        ),
        "c": Scenario("(c) search with prices, no cache", search_cold, "search_cold.lua", floors),
        "d": Scenario("(d) facility detail", detail, "detail.lua", floors, rewarm=True),
        "g": Scenario("(g) quote (itemised price + token)", quote, "quote.lua", floors),
        "e0": Scenario(
            "(e0) write baseline: lock a row + insert",
            write_baseline,
            "static.lua",
            floors,
            data={"method": "POST", "path": write_path},
        ),
        "e": Scenario("(e) booking create, contended", book, "book.lua", (*floors, "e0")),
        "ew": Scenario(
            "(ew) booking create, contended, with a webhook", book, "book.lua", (*floors, "e0")
        ),
        "f": Scenario(
            "(f) mixed: 80% search / 15% detail / 5% book",
            mixed,
            "mixed.lua",
            floors,
            rewarm=True,
        ),
    }
    return plan, common


def _worker_rss(master_pid: int) -> list[float]:
    import psutil

    return [p.memory_info().rss / 2**20 for p in psutil.Process(master_pid).children()]


def _gunicorn(app: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "gunicorn"), app, "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def choose_generator(asked: str) -> tuple[str, str]:
    """(generator, how the header names it)."""
    has_wrk = shutil.which("wrk") is not None
    if asked == "wrk" and not has_wrk:
        raise SystemExit("--generator wrk: wrk is not on PATH (apt-get install wrk)")
    if asked == "aiohttp" or not has_wrk:
        why = "asked for" if asked == "aiohttp" else "FALLBACK: wrk not found on PATH"
        return "aiohttp", f"aiohttp in the bench process ({why}; figures not comparable to wrk's)"
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout  # noqa: S607
    return "wrk", (version.splitlines() or ["wrk"])[0].split(" [")[0] + " (tests/load/wrk/*.lua)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 12)))
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", 3)),
        help="the scenarios take turns, each --seconds/--rounds at a time",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_WRK_THREADS", 2)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 8099)))
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "aiohttp"],
        default=os.environ.get("BENCH_GENERATOR", "auto"),
        help="auto: wrk when it is on PATH, aiohttp otherwise",
    )
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", default="", help="comma list of scenario keys, e.g. a0,a,b")
    args = parser.parse_args()
    generator, generator_name = choose_generator(args.generator)

    env = bench_env(args.port)
    os.environ.update(env)  # before anything imports the settings
    _ensure_database(env)
    py = sys.executable
    subprocess.run(
        [py, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )

    import django

    django.setup()
    from django.core.cache import cache
    from rest_framework_simplejwt.tokens import AccessToken

    from parkme.models import User
    from tests.load import seed

    if args.reseed or not seed.dataset_ready():
        print("seeding 200 facilities, 20,000 spots, 200,000 bookings ...", flush=True)
        t0 = time.monotonic()
        seed.seed()
        print(f"seeded in {time.monotonic() - t0:.0f} s", flush=True)
    seed.reset_benchmark_writes()
    cache.clear()
    facility_ids = seed.facility_ids()
    contended = facility_ids[: seed.CONTENDED_FACILITIES]
    bookers = seed.bookers()
    tokens = {uid: str(AccessToken.for_user(User(pk=uid, is_active=True))) for uid, _ in bookers}

    plan, common = scenarios(facility_ids, contended, bookers, tokens)
    keys = [k for k in plan if not args.only or k in args.only.split(",")]
    deliveries = 0
    rss: list[float] = []
    workdir = Path(tempfile.mkdtemp(prefix="parkme-bench-"))
    common_data = write_wrk_data(workdir / "common.lua", common)

    def run(key: str, base: str, seconds: float) -> Result:
        scenario = plan[key]
        if generator == "aiohttp":
            return asyncio.run(
                drive_aiohttp(
                    base, scenario.make_request, seconds, args.connections, scenario.label
                )
            )
        data = (
            write_wrk_data(workdir / f"{key}.lua", scenario.data) if scenario.data else common_data
        )
        return drive_wrk(
            base, scenario.script, data, seconds, args.connections, args.threads, scenario.label
        )

    rounds: dict[str, list[Result]] = {key: [] for key in keys}
    overlaps = 0
    slice_seconds = max(1, round(args.seconds / args.rounds))

    def prepare(key: str) -> None:
        if key in ("e", "ew"):  # earlier bookings (warm-up, other rounds) must not fill spots
            seed.reset_benchmark_writes()
            seed.webhook_endpoint_set(subscribed=key == "ew")

    def finish(key: str) -> None:
        nonlocal deliveries, overlaps
        if key in ("e", "ew", "f"):
            _drain_writes()  # requests wrk left queued in gunicorn's backlog still write
        if key in ("e", "ew"):
            overlaps += seed.overlapping_live_pairs()
        if key == "ew":
            deliveries += seed.webhook_deliveries_written()
            seed.webhook_endpoint_set(subscribed=False)

    floor = server = None
    try:
        if any(plan[k].server == "floor" for k in keys):
            floor = _gunicorn(
                "tests.load.floor_wsgi:application",
                {**env, "GUNICORN_BIND": f"127.0.0.1:{args.port + 1}"},
            )
        server = _gunicorn("tests.load.bench_wsgi:application", env)
        bases = {
            "floor": f"http://127.0.0.1:{args.port + 1}",
            "parkme": f"http://127.0.0.1:{args.port}",
        }
        if floor:
            _wait_ready(bases["floor"], "/bench/hello/")
        _wait_ready(bases["parkme"], "/health/")
        for key in keys:
            print(f"warming up {plan[key].label} ({args.warmup:.0f} s) ...", flush=True)
            prepare(key)
            run(key, bases[plan[key].server], args.warmup)
            finish(key)
        # Round robin: every scenario and its floors share whatever else the machine does.
        for n in range(1, args.rounds + 1):
            print(f"round {n}/{args.rounds}: {len(keys)} scenarios x {slice_seconds} s", flush=True)
            for key in keys:
                prepare(key)
                if n > 1 and plan[key].rewarm:
                    run(key, bases[plan[key].server], REWARM_SECONDS)
                rounds[key].append(run(key, bases[plan[key].server], slice_seconds))
                finish(key)
        rss = _worker_rss(server.pid)
    finally:
        for process in (server, floor):
            if process is not None:
                _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)

    results = {key: combine(parts) for key, parts in rounds.items()}
    _print_table(results, plan, args, generator_name)
    if "ew" in results:
        print(f"webhook delivery rows written during (ew): {deliveries}")
    print(f"\nlive bookings overlapping on a spot (SQL check): {overlaps}")
    if rss:
        print(
            "web worker RSS (MB): " + ", ".join(f"{r:.0f}" for r in rss) + f"  (max {max(rss):.0f})"
        )
    _print_targets(results, rss, overlaps)
    return 1 if overlaps else 0


def _drain_writes(timeout: float = 60) -> None:
    """Wait until no other session of the bench database runs a statement or holds a
    transaction open (three looks in a row), so the next reset cannot race them."""
    from django.db import connection

    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 3 and time.monotonic() < deadline:
        with connection.cursor() as c:
            c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                "AND state <> 'idle'"
            )
            busy = c.fetchone()[0]
        quiet = 0 if busy else quiet + 1
        time.sleep(0.1)


def _wait_ready(base: str, path: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}{path}", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {path} within 60 s")


def _ratio(results: dict[str, Result], key: str, floor: str, plan: dict) -> str:
    if floor == key:
        return "floor"
    if floor not in plan[key].floors or floor not in results or not results[floor].rps:
        return ""
    return f"{results[key].rps / results[floor].rps:.2f}"


def _print_table(results: dict[str, Result], plan: dict, args, generator_name: str) -> None:
    print(
        f"\nParkMe bench: load generator {generator_name}; {args.connections} connections, "
        f"{args.seconds:.0f} s per scenario in {args.rounds} round-robin turns, after "
        f"{args.warmup:.0f} s warm-up; gunicorn sync "
        f"workers per deploy/gunicorn.conf.py; cpu count {os.cpu_count()}\n"
    )
    header = (
        f"| {'scenario':<46} | {'req/s':>6} | {'p50 ms':>6} | {'p95 ms':>6} | {'p99 ms':>6} "
        f"| {'errors':>6} | {'x a0':>5} | {'x a':>5} | {'x e0':>5} | statuses"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|---")
    for key, r in results.items():
        ratios = [_ratio(results, key, floor, plan) for floor in ("a0", "a", "e0")]
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(r.statuses.items()))
        print(
            f"| {r.name:<46} | {r.rps:6.0f} | {r.p50:6.1f} | {r.p95:6.1f} | {r.p99:6.1f} "
            f"| {r.server_errors:6d} | {ratios[0]:>5} | {ratios[1]:>5} | {ratios[2]:>5} "
            f"| {statuses}"
        )
    for key in ("e", "ew"):
        if key in results:
            print(
                f"\n({key}) bookings created: {results[key].statuses.get(201, 0)}; refused 409 "
                f"(spot or vehicle taken): {results[key].statuses.get(409, 0)}"
            )
    if "e" in results and "ew" in results and results.get("e0") and results["e0"].rps:
        e, ew = (results[k].rps / results["e0"].rps for k in ("e", "ew"))
        print(f"webhook cost on booking create: (ew) {ew:.2f} vs (e) {e:.2f} x e0 ({ew - e:+.2f})")


def _print_targets(results: dict[str, Result], rss: list[float], overlaps: int) -> None:
    lines = []
    for key, floor, least in [*TARGETS, WRITE_TARGET]:
        if key in results and floor in results and results[floor].rps:
            ratio = results[key].rps / results[floor].rps
            verdict = "met" if ratio >= least else "MISSED"
            lines.append(f"({key}) >= {least:.2f} x ({floor}): {ratio:.2f}  {verdict}")
    if rss:
        verdict = "met" if max(rss) <= RSS_TARGET_MB else "MISSED"
        lines.append(f"web worker RSS <= {RSS_TARGET_MB} MB: {max(rss):.0f}  {verdict}")
    if "e" in results:
        lines.append(
            f"overlapping live bookings = 0: {overlaps}  {'met' if not overlaps else 'MISSED'}"
        )
    if lines:
        print("\ntargets (issue 17):\n  " + "\n  ".join(lines))


if __name__ == "__main__":
    sys.exit(main())
