"""`make bench-scale`: how ParkMe's cost grows with the bookings it keeps (not in CI).

The same scenarios as `make bench` (tests/load/bench.py: its gunicorn, scenarios, wrk
runner and floors) against 0.2 M, 2 M and 10 M bookings, each size in its own database
seeded once by tests/load/scale_seed.py (3 years of history; the same recent slice and the
same due work at every size, so only the history differs). For each size it prints:

- per scenario req/s and p99 (search warm and cache-bypassed, detail, booking create, and
  the floors a0, a, e0 for reference);
- the size of the bookings table and of its indexes;
- the time of one run of each sweep (expiry, reminders, roll-up, anonymisation) at the
  seed's anchor hour, over the same due work at every size, in a transaction rolled back
  afterwards (the best of --sweep-repeats runs: the work is the same each time, so the
  slower ones measure whatever else the machine was doing).

Then one table with every row at every size and the ratio largest / smallest size; a row
whose cost grew by more than 20 % is marked. The sizes run minutes apart on a shared
machine, so a scenario row is marked only when both its req/s and its req/s relative to
floor (a) of the same size fell by more than 20 % (the floor follows the machine's drift);
the roll-up, which writes one row per facility by design, is judged per facility.

Each size runs in a child process of its own (one Django setup per database).

    python -m tests.load.bench_scale [--sizes 0.2m,2m,10m] [--seconds 9] [--rounds 3]
                                     [--only a0,a,b,c,d,e0,e] [--sweep-repeats 5] [--reseed]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.load import bench

DEFAULT_KEYS = "a0,a,b,c,d,e0,e"
JUDGED = ("b", "c", "d", "e")  # the scenarios that must stay flat; the rest are floors
FLAT = 0.20
ROLL_UP = "occupancy_roll_up"


# --- one size (child process) --------------------------------------------------------------


def _one(args) -> dict:
    from tests.load import scale_seed

    size = scale_seed.SIZES[args.one]
    bench.BENCH_DB = size.database  # bench's environment helpers read it
    env = bench.bench_env(args.port)
    os.environ.update(env)  # before anything imports the settings
    bench._ensure_database(env)
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=bench.ROOT,
        env=env,
        check=True,
    )
    import django

    django.setup()
    anchor = scale_seed.prepare(size, reseed=args.reseed, log=_log)
    report = {
        "size": size.name,
        "database": size.database,
        "bookings": _count("bookings_booking"),
        "facilities": _count("facilities_facility"),
        "anchor": anchor.isoformat(),
        **_table_sizes(),
    }
    report["sweeps"] = _sweeps(anchor, repeats=args.sweep_repeats)
    report["scenarios"] = _scenarios(args, env, size) if args.only else {}
    return report


def _log(message: str) -> None:
    print(message, flush=True)


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a constant
        return int(c.fetchone()[0])


def _table_sizes() -> dict:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT pg_relation_size('bookings_booking'), pg_indexes_size('bookings_booking'), "
            "pg_total_relation_size('bookings_booking')"
        )
        heap, indexes, total = c.fetchone()
        c.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = 'bookings_booking'::regclass ORDER BY 2 DESC"
        )
        per_index = dict(c.fetchall())
    return {"heap_bytes": heap, "index_bytes": indexes, "total_bytes": total, "index": per_index}


def _sweeps(anchor, *, repeats: int) -> dict:
    """{sweep: {"ms": median, "runs": [...], "count": rows done}} at ``anchor``: each run in
    a transaction rolled back afterwards, so every run (and every size) does the same work."""
    from datetime import timedelta

    from django.db import transaction

    from bookings import sweeps

    sweeps.outbox_kick = lambda: None  # no broker round trip inside the timing

    def once(name: str) -> tuple[float, int]:
        with transaction.atomic():
            started = time.perf_counter()
            if name == ROLL_UP:
                count = sweeps.occupancy_roll_up(hour=anchor - timedelta(hours=1), now=anchor)
            else:
                count = sweeps.sweep_run(name, now=anchor).count
            elapsed = (time.perf_counter() - started) * 1000
            transaction.set_rollback(True)
        return elapsed, count

    results = {}
    for name in (*sweeps.SWEEPS, ROLL_UP):
        runs, count = [], 0
        for _ in range(repeats):
            ms, count = once(name)
            runs.append(ms)
        results[name] = {"ms": min(runs), "median": statistics.median(runs), "runs": runs}
        results[name]["count"] = count
        _log(f"  sweep {name}: {count} rows, best {min(runs):.1f} ms of {runs}")
    return results


def _scenarios(args, env: dict, size) -> dict:
    """bench's round robin over the chosen scenarios, on this size's database."""
    from django.core.cache import cache
    from rest_framework_simplejwt.tokens import AccessToken

    from parkme.models import User
    from tests.load import scale_seed, seed

    generator, generator_name = bench.choose_generator(args.generator)
    seed.reset_benchmark_writes()
    cache.clear()
    facility_ids = scale_seed.core_facility_ids(size)  # the same 200 places at every size
    contended = facility_ids[: seed.CONTENDED_FACILITIES]
    bookers = seed.bookers()
    tokens = {uid: str(AccessToken.for_user(User(pk=uid, is_active=True))) for uid, _ in bookers}
    plan, common = bench.scenarios(facility_ids, contended, bookers, tokens)
    keys = [k for k in args.only.split(",") if k in plan]
    workdir = Path(tempfile.mkdtemp(prefix="parkme-bench-scale-"))
    common_data = bench.write_wrk_data(workdir / "common.lua", common)

    def run(key: str, base: str, seconds: float) -> bench.Result:
        scenario = plan[key]
        if generator == "aiohttp":
            import asyncio

            return asyncio.run(
                bench.drive_aiohttp(
                    base, scenario.make_request, seconds, args.connections, scenario.label
                )
            )
        data = (
            bench.write_wrk_data(workdir / f"{key}.lua", scenario.data)
            if scenario.data
            else common_data
        )
        return bench.drive_wrk(
            base, scenario.script, data, seconds, args.connections, args.threads, scenario.label
        )

    def prepare(key: str) -> None:
        if key == "e":
            seed.reset_benchmark_writes()

    def finish(key: str) -> None:
        if key == "e":
            bench._drain_writes()

    rounds: dict[str, list[bench.Result]] = {key: [] for key in keys}
    slice_seconds = max(1, round(args.seconds / args.rounds))
    floor = server = None
    try:
        if any(plan[k].server == "floor" for k in keys):
            floor = bench._gunicorn(
                "tests.load.floor_wsgi:application",
                {**env, "GUNICORN_BIND": f"127.0.0.1:{args.port + 1}"},
            )
        server = bench._gunicorn("tests.load.bench_wsgi:application", env)
        bases = {
            "floor": f"http://127.0.0.1:{args.port + 1}",
            "parkme": f"http://127.0.0.1:{args.port}",
        }
        if floor:
            bench._wait_ready(bases["floor"], "/bench/hello/")
        bench._wait_ready(bases["parkme"], "/health/")
        for key in keys:
            prepare(key)
            run(key, bases[plan[key].server], args.warmup)
            finish(key)
        for n in range(1, args.rounds + 1):
            _log(f"  round {n}/{args.rounds}: {len(keys)} scenarios x {slice_seconds} s")
            for key in keys:
                prepare(key)
                if n > 1 and plan[key].rewarm:
                    run(key, bases[plan[key].server], 1)
                rounds[key].append(run(key, bases[plan[key].server], slice_seconds))
                finish(key)
    finally:
        for process in (server, floor):
            if process is not None:
                bench._stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    overlaps = seed.overlapping_live_pairs()
    seed.reset_benchmark_writes()
    out = {}
    for key, parts in rounds.items():
        r = bench.combine(parts)
        out[key] = {
            "label": r.name,
            "rps": r.rps,
            "p99": r.p99,
            "errors": r.server_errors,
            "statuses": r.statuses,
        }
    out["_meta"] = {"generator": generator_name, "overlaps": overlaps}
    return out


# --- the whole run (parent) ----------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def _verdict(ratio: float | None, *, higher_is_better: bool) -> str:
    if ratio is None:
        return ""
    growth = (1 / ratio if higher_is_better else ratio) - 1 if ratio else float("inf")
    return "flat" if growth <= FLAT else f"NOT FLAT (+{growth:.0%})"


def print_report(reports: list[dict]) -> None:
    names = [r["size"] for r in reports]
    first, last = reports[0], reports[-1]
    cols = " | ".join(f"{n:>16}" for n in names)
    print(f"\n## How cost grows with data: {', '.join(names)} bookings\n")
    print(f"| {'size':<44} | {cols} |")
    print(f"|{'-' * 46}|" + "|".join("-" * 18 for _ in names) + "|")
    for label, get in (
        ("bookings", lambda r: f"{r['bookings']:,}"),
        ("facilities", lambda r: f"{r['facilities']:,}"),
        ("bookings table (heap)", lambda r: _mb(r["heap_bytes"])),
        ("bookings indexes (pg_indexes_size)", lambda r: _mb(r["index_bytes"])),
        ("bookings total (pg_total_relation_size)", lambda r: _mb(r["total_bytes"])),
    ):
        print(f"| {label:<44} | " + " | ".join(f"{get(r):>16}" for r in reports) + " |")
    scenarios = first.get("scenarios") or {}
    if scenarios:
        print(f"\nscenarios ({scenarios['_meta']['generator']}): req/s, p99 ms, x floor (a)\n")
    header = f"| {'row':<44} | {cols} | {last['size'] + ' / ' + first['size']:>12} | verdict"
    print(header)
    print(f"|{'-' * 46}|" + "|".join("-" * 18 for _ in names) + f"|{'-' * 14}|---")
    for key, row in scenarios.items():
        if key == "_meta":
            continue

        def cell(r, key=key):
            s = r["scenarios"].get(key)
            a = r["scenarios"].get("a")
            if not s:
                return "-"
            x = f" x{s['rps'] / a['rps']:.2f}" if a and a["rps"] and key != "a" else ""
            return f"{s['rps']:.0f}/s {s['p99']:.0f}ms{x}"

        ratio = verdict = ""
        s0, s1 = first["scenarios"].get(key), last["scenarios"].get(key)
        a0, a1 = first["scenarios"].get("a"), last["scenarios"].get("a")
        if s0 and s1 and s0["rps"]:
            r = s1["rps"] / s0["rps"]
            ratio = f"{r:.2f}"
            if key in JUDGED and a0 and a1 and a0["rps"] and a1["rps"]:
                normalised = (s1["rps"] / a1["rps"]) / (s0["rps"] / a0["rps"])
                ratio = f"{r:.2f} ({normalised:.2f})"
                verdict = _verdict(max(r, normalised), higher_is_better=True)
        print(
            f"| {row['label'][:44]:<44} | "
            + " | ".join(f"{cell(r):>16}" for r in reports)
            + f" | {ratio:>12} | {verdict}"
        )
    for name in first["sweeps"]:

        def ms(r, name=name):
            s = r["sweeps"][name]
            return f"{s['ms']:.1f} ms ({s['count']})"

        t0, t1 = first["sweeps"][name]["ms"], last["sweeps"][name]["ms"]
        ratio = t1 / t0 if t0 else None
        judged = ratio
        if name == ROLL_UP:  # one row per facility by design: judged per facility
            judged = (t1 / last["facilities"]) / (t0 / first["facilities"]) if t0 else None
        shown = f"{ratio:.2f}" if ratio else ""
        if name == ROLL_UP and judged:
            shown += f" ({judged:.2f}/fac)"
        label = f"sweep {name}"
        print(
            f"| {label:<44} | "
            + " | ".join(f"{ms(r):>16}" for r in reports)
            + f" | {shown:>12} | {_verdict(judged, higher_is_better=False)}"
        )
    overlaps = [r["scenarios"]["_meta"]["overlaps"] for r in reports if r.get("scenarios")]
    if overlaps:
        print(f"\nlive bookings overlapping on a spot after the writes: {sum(overlaps)}")
    print(
        "\nscenario ratio: req/s last / first size (in brackets: of req/s x floor (a)); "
        "sweeps: best of the runs in ms (rows done); flat = cost within "
        f"{FLAT:.0%} of the smallest size's"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SCALE_SIZES", "0.2m,2m,10m"))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 9)))
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_WRK_THREADS", 2)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 8099)))
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "aiohttp"],
        default=os.environ.get("BENCH_GENERATOR", "auto"),
    )
    parser.add_argument("--only", default=DEFAULT_KEYS, help="scenario keys ('' for none)")
    parser.add_argument("--sweep-repeats", type=int, default=5)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--json", default="", help="also write the reports here")
    parser.add_argument("--report", default="", help="print a --json file's table only")
    parser.add_argument("--one", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.report:
        print_report(json.loads(Path(args.report).read_text()))
        return 0
    if args.one:
        Path(args.out).write_text(json.dumps(_one(args), default=str))
        return 0

    from tests.load.scale_seed import SIZES

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {unknown}; known: {', '.join(SIZES)}")
    sizes.sort(key=lambda s: SIZES[s].bookings)
    reports = []
    workdir = Path(tempfile.mkdtemp(prefix="parkme-bench-scale-"))
    try:
        for name in sizes:
            _log(f"== {name} ({SIZES[name].database})")
            out = workdir / f"{name}.json"
            child = [sys.executable, "-m", "tests.load.bench_scale", "--one", name, "--out", out]
            passed = [
                f"--{k.replace('_', '-')}={getattr(args, k)}"
                for k in (
                    "seconds",
                    "warmup",
                    "rounds",
                    "connections",
                    "threads",
                    "port",
                    "generator",
                    "only",
                    "sweep_repeats",
                )
            ]
            started = time.monotonic()
            subprocess.run(  # noqa: S603
                [*map(str, child), *passed, *(["--reseed"] if args.reseed else [])],
                cwd=bench.ROOT,
                check=True,
            )
            _log(f"== {name} done in {time.monotonic() - started:.0f} s")
            reports.append(json.loads(out.read_text()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2, default=str))
    print_report(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
