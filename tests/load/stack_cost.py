"""What each middleware costs: ParkMe's WSGI handler called in-process (no gunicorn, no
network, no load generator), so the figures are the Python work of one request alone.

For one path (the bench's bare view by default) it times the handler with no middleware,
with Django's default stack, with ParkMe's whole stack, and with the whole stack minus each
middleware in turn; then prints a cProfile of the whole stack, heaviest functions first.

    python -m parkme.devservices run -- python -m tests.load.stack_cost [--path /bench/hello/]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

DJANGO_DEFAULT = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def _environ(path: str, headers: dict[str, str]) -> dict:
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8099",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8099",
        "HTTP_USER_AGENT": "wrk",
        "HTTP_ACCEPT": "*/*",
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.errors": sys.stderr,
        "wsgi.input": io.BytesIO(b""),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _handler(middleware: list[str]):
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = middleware
    return WSGIHandler()


def _one(handler, path: str, headers: dict[str, str]) -> int:
    status = []
    body = handler(_environ(path, headers), lambda s, h, exc_info=None: status.append(s))
    for _ in body:
        pass
    body.close()  # request_finished: what gunicorn does after each response
    return int(status[0][:3])


def per_request_us(middleware: list[str], path: str, headers: dict, n: int) -> float:
    handler = _handler(middleware)
    for _ in range(200):
        _one(handler, path, headers)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            _one(handler, path, headers)
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/bench/hello/")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--profile-lines", type=int, default=30)
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)

    import tempfile

    from tests.load.bench import bench_env

    os.environ.update(bench_env(8099))
    # As under gunicorn (deploy/gunicorn.conf.py): metrics in Prometheus' multiprocess files.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="parkme-stack-cost-")
    import django

    django.setup()
    from django.conf import settings

    settings.ROOT_URLCONF = "tests.load.bench_urls"
    full = list(settings.MIDDLEWARE)
    print(f"path {args.path}: status {_one(_handler(full), args.path, headers)}")

    rows = [
        ("no middleware", per_request_us([], args.path, headers, args.n)),
        ("Django's default middleware", per_request_us(DJANGO_DEFAULT, args.path, headers, args.n)),
    ]
    whole = per_request_us(full, args.path, headers, args.n)
    rows.append(("ParkMe's whole stack", whole))
    for name in full:
        # Auth and messages need sessions: without sessions, the three go together.
        gone = {name}
        if name.endswith(".SessionMiddleware"):
            gone |= {
                m for m in full if m.endswith(("AuthenticationMiddleware", "MessageMiddleware"))
            }
        without = per_request_us([m for m in full if m not in gone], args.path, headers, args.n)
        label = name if len(gone) == 1 else f"{name} (+ auth, messages)"
        rows.append((f"  cost of {label}", whole - without))
    print(f"\n{'variant':<72} {'us/request':>10}")
    for label, us in rows:
        print(f"{label:<72} {us:10.1f}")

    handler = _handler(full)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.n):
        _one(handler, args.path, headers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile_lines)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
