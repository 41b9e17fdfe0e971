"""Prometheus multiprocess mode behind real gunicorn (deploy/gunicorn.conf.py, 2 workers):
whichever worker answers a scrape, the HTTP counts are every worker's summed, each live
worker has its own pool series, and a worker that exits takes its gauges with it."""

from __future__ import annotations

import os
import signal
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.gunicorn import gunicorn
from tests.ops.pgcluster import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _get(base: str, path: str) -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, headers={"Cache-Control": "no-cache"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _samples(base: str) -> list:
    status, body = _get(base, "/metrics")
    assert status == 200, body[:300]
    return [s for f in text_string_to_metric_families(body.decode()) for s in f.samples]


@pytest.fixture
def server(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over from a previous start")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.background.worker_settings",
        "PARKME_WORKER_DB_NAME": connection.settings_dict["NAME"],
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESSLOG": "",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "ERROR",
    }
    with gunicorn(env) as running:
        wait_until(lambda: _get(running.base, "/health/")[0] == 200, timeout=60, what="gunicorn")
        yield running.base, running.proc, metrics_dir


def _worker_pids(proc) -> set[int]:
    return {child.pid for child in psutil.Process(proc.pid).children()}


def _served(samples) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == "django_http_responses_total_by_status_view_method_total"
        and s.labels == {"method": "GET", "status": "200", "view": "health"}
    )


def test_every_worker_counts_and_any_worker_reports_the_sum(server):
    base, proc, metrics_dir = server
    assert not (metrics_dir / "counter_999999.db").exists()  # emptied at start
    wait_until(lambda: len(_worker_pids(proc)) == 2, timeout=30, what="two workers")
    before = _served(_samples(base))  # the start-up probes
    for _ in range(40):
        assert _get(base, "/health/")[0] == 200

    # Scrapes land on either worker; each one reports all 40 liveness answers.
    for _ in range(6):
        assert _served(_samples(base)) == before + 40

    wait_until(
        lambda: (
            {int(s.labels["pid"]) for s in _samples(base) if s.name == "parkme_db_pool_max"}
            == _worker_pids(proc)
        ),
        timeout=30,
        what="a pool series from each worker",
    )


def test_a_worker_that_exits_takes_its_gauges_and_keeps_its_counts(server):
    base, proc, _ = server
    wait_until(lambda: len(_worker_pids(proc)) == 2, timeout=30, what="two workers")
    before = _served(_samples(base))
    for _ in range(20):
        _get(base, "/health/")
    wait_until(
        lambda: (
            {int(s.labels["pid"]) for s in _samples(base) if s.name == "parkme_db_pool_max"}
            == _worker_pids(proc)
        ),
        timeout=30,
        what="a pool series from each worker",
    )
    victim = min(_worker_pids(proc))
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: victim not in _worker_pids(proc) and len(_worker_pids(proc)) == 2,
        timeout=30,
        what="gunicorn to replace the worker",
    )

    samples = _samples(base)
    pids = {int(s.labels["pid"]) for s in samples if s.name == "parkme_db_pool_max"}
    assert victim not in pids
    assert _served(samples) == before + 20  # the dead worker's answers still count
