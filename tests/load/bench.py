"""`make bench`: ParkMe under load, each scenario against a baseline measured in the same run.

Starts gunicorn with production settings (DEBUG off, sync workers as
deploy/gunicorn.conf.py sizes them) on real PostgreSQL and Redis (embedded unless
DATABASE_URL / REDIS_URL are set), seeds a realistic dataset once, warms up, then drives
each scenario for a bounded time from this separate process with 64 concurrent
connections, and prints one table. Afterwards it checks in SQL that no two live bookings
overlap on a spot and prints each web worker's RSS.

    python -m tests.load.bench [--seconds 10] [--connections 64] [--reseed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "parkme_bench"


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
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    @property
    def server_errors(self) -> int:
        return self.errors + sum(n for code, n in self.statuses.items() if code >= 500)


async def drive(base: str, make_request, seconds: float, connections: int, name: str) -> Result:
    import aiohttp

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
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        result.seconds = time.monotonic() - began
    return result


# --- scenarios -----------------------------------------------------------------------------


def scenarios(facility_ids: list[int], contended: list[int], bookers, tokens) -> dict:
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

    ids = ",".join(map(str, contended))

    def write_baseline():
        return "POST", f"/bench/write/?ids={ids}", {}

    def mixed():
        roll = random.random()
        if roll < 0.80:
            return search_warm()
        if roll < 0.95:
            return detail()
        return book()

    return {
        "a": ("(a) baseline: bare Django JSON view", lambda: ("GET", "/bench/hello/", {}), None),
        "b": ("(b) search, warm cache", search_warm, "a"),
        "c": ("(c) search, cache bypassed", search_cold, "a"),
        "d": ("(d) facility detail", detail, "a"),
        "g": ("(g) quote (itemised price + token)", quote, "a"),
        "e0": ("(e0) write baseline: lock a row + insert", write_baseline, None),
        "e": ("(e) booking create, contended", book, "e0"),
        "ew": ("(ew) booking create, contended, with a webhook", book, "e0"),
        "f": ("(f) mixed: 80% search / 15% detail / 5% book", mixed, "a"),
    }


def _worker_rss(master_pid: int) -> list[float]:
    import psutil

    return [p.memory_info().rss / 2**20 for p in psutil.Process(master_pid).children()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 8099)))
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", default="", help="comma list of scenario keys, e.g. a,b")
    args = parser.parse_args()

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

    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(py).parent / "gunicorn"),
            "tests.load.bench_wsgi:application",
            "-c",
            "deploy/gunicorn.conf.py",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        _wait_ready(base)
        plan = scenarios(facility_ids, contended, bookers, tokens)
        keys = [k for k in plan if not args.only or k in args.only.split(",")]
        results: dict[str, Result] = {}
        deliveries = 0
        for key in keys:
            label, make_request, _ = plan[key]
            if key == "ew":  # the same bookings, the operator now subscribed to every event
                seed.reset_benchmark_writes()
                seed.webhook_endpoint_set(subscribed=True)
            asyncio.run(drive(base, make_request, args.warmup, args.connections, label))
            if key in ("e", "ew"):
                seed.reset_benchmark_writes()  # warm-up bookings must not fill the spots
                seed.webhook_endpoint_set(subscribed=key == "ew")
            print(f"running {label} for {args.seconds:.0f} s ...", flush=True)
            results[key] = asyncio.run(
                drive(base, make_request, args.seconds, args.connections, label)
            )
            if key == "ew":
                deliveries = seed.webhook_deliveries_written()
                seed.webhook_endpoint_set(subscribed=False)
        rss = _worker_rss(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    overlaps = seed.overlapping_live_pairs()
    _print_table(results, plan, args)
    if "ew" in results:
        print(f"webhook delivery rows written during (ew): {deliveries}")
    print(f"\nlive bookings overlapping on a spot (SQL check): {overlaps}")
    print("web worker RSS (MB): " + ", ".join(f"{r:.0f}" for r in rss) + f"  (max {max(rss):.0f})")
    return 1 if overlaps else 0


def _wait_ready(base: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /health/ within 60 s")


def _print_table(results: dict[str, Result], plan: dict, args) -> None:
    print(
        f"\nParkMe bench: {args.connections} connections, {args.seconds:.0f} s per scenario, "
        f"gunicorn sync workers per deploy/gunicorn.conf.py, cpu count {os.cpu_count()}\n"
    )
    header = (
        f"| {'scenario':<48} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | "
        f"{'p99 ms':>7} | {'errors':>6} | {'vs baseline':>11} | statuses"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|---")
    for key, r in results.items():
        base_key = plan[key][2]
        ratio = (
            f"{r.rps / results[base_key].rps:.2f} x {base_key}"
            if base_key and base_key in results and results[base_key].rps
            else "baseline"
        )
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(r.statuses.items()))
        print(
            f"| {r.name:<48} | {r.rps:7.0f} | {r.pct(0.50):7.1f} | {r.pct(0.95):7.1f} | "
            f"{r.pct(0.99):7.1f} | {r.server_errors:6d} | {ratio:>11} | {statuses}"
        )
    for key in ("e", "ew"):
        if key in results:
            print(
                f"\n({key}) bookings created: {results[key].statuses.get(201, 0)}; refused 409 "
                f"(spot or vehicle taken): {results[key].statuses.get(409, 0)}"
            )
    if "e" in results and "ew" in results and results["e0"].rps:
        e, ew = (results[k].rps / results["e0"].rps for k in ("e", "ew"))
        print(f"webhook cost on booking create: (ew) {ew:.2f} vs (e) {e:.2f} x e0 ({ew - e:+.2f})")


if __name__ == "__main__":
    sys.exit(main())
