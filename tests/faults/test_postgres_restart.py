"""PostgreSQL restarts under load: requests caught in the outage get a clean 503 in the
error format, and the same gunicorn processes serve again within seconds, no restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import psutil
import psycopg
import pytest
from django.conf import settings
from pgserver._commands import POSTGRES_BIN_PATH

from tests.ops.gunicorn import gunicorn as serve_gunicorn
from tests.ops.pgcluster import start_primary, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def private_postgres():
    server = start_primary(Path(POSTGRES_BIN_PATH))
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute('CREATE DATABASE "parkme_fault"')
    yield server
    server.destroy()


@pytest.fixture
def gunicorn(private_postgres):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": "fault-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{private_postgres.port}/parkme_fault",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_KEY_PREFIX": f"fault-{uuid.uuid4().hex[:8]}",
        "SECURE_SSL_REDIRECT": "False",
        "DB_CONNECT_TIMEOUT": "2",
        "DB_POOL_TIMEOUT": "2",
        "LOG_LEVEL": "ERROR",
        "THROTTLE_ANON": "1000000/minute",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESSLOG": "",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    with serve_gunicorn(env) as running:
        wait_until(lambda: _get(running.base, "/health/")[0] == 200, timeout=60, what="gunicorn")
        yield running.base, running.proc


def _get(base: str, path: str) -> tuple[int, dict | None]:
    # no-cache: every request must reach PostgreSQL, not the response cache in Redis.
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        base + path, headers={"Cache-Control": "no-cache"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as r:  # noqa: S310 - loopback
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, {"raw": body[:200].decode(errors="replace")}
    except OSError:
        return 0, None  # connection-level failure: counted as an error below


def test_requests_get_a_clean_503_during_a_restart_and_the_same_processes_recover(
    gunicorn, private_postgres
):
    base, proc = gunicorn
    workers_before = {p.pid for p in psutil.Process(proc.pid).children()}
    path = "/api/v1/facilities/?lat=60.17&lng=24.94"
    outcomes: list[tuple[float, int, dict | None]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            status, body = _get(base, path + f"&page={1 + len(outcomes) % 3}")
            outcomes.append((time.monotonic(), status, body))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    down_at = time.monotonic()
    private_postgres.stop()
    time.sleep(2)
    private_postgres.start()
    up_at = time.monotonic()
    wait_until(
        lambda: any(s == 200 and at > up_at for at, s, _ in outcomes),
        timeout=20,
        what="a successful request after the restart",
    )
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    statuses = Counter(status for _, status, _ in outcomes)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 1, "the outage was never seen"
    for _, status, body in outcomes:
        if status == 503:
            assert body["error"]["code"] == "service_unavailable"
    first_ok_after = min(at for at, s, _ in outcomes if s == 200 and at > up_at)
    assert first_ok_after - up_at < 10
    # Everything after the first recovered request succeeds: no lingering dead connections.
    late = [s for at, s, _ in outcomes if at > first_ok_after + 0.5]
    assert late
    assert set(late) == {200}
    assert {p.pid for p in psutil.Process(proc.pid).children()} == workers_before
    assert down_at < up_at
