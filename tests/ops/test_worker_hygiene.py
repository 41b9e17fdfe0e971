"""Worker hygiene: processes recycled, connections that fit the server, traces sampled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_celery_replaces_each_worker_process_after_1000_tasks():
    assert app.conf.worker_max_tasks_per_child == 1000


def test_sentry_traces_one_request_in_ten_by_default():
    assert settings.SENTRY_TRACES_SAMPLE_RATE == 0.1


def _check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.background.worker_settings",
            "PARKME_WORKER_DB_NAME": connection.settings_dict["NAME"],
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_check_warns_when_the_processes_may_open_more_connections_than_the_server_allows():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    # (web + celery) x pool x servers: 3 x 10 x servers, just over and just under.
    over = max_connections // 30 + 1
    warned = _check(
        WEB_CONCURRENCY="2", CELERY_CONCURRENCY="1", DB_POOL_MAX_SIZE="10",
        PARKME_APP_SERVERS=str(over),
    )  # fmt: skip
    assert warned.returncode == 0, warned.stderr  # a warning, not an error
    assert "parkme.W002" in warned.stderr
    assert f"Up to {30 * over} database connections" in warned.stderr
    assert f"PostgreSQL allows {max_connections}" in warned.stderr

    fine = _check(WEB_CONCURRENCY="2", CELERY_CONCURRENCY="1", DB_POOL_MAX_SIZE="2")
    assert fine.returncode == 0, fine.stderr
    assert "parkme.W002" not in fine.stdout + fine.stderr


def test_with_pgbouncer_pooling_there_is_nothing_to_compare():
    result = _check(DATABASE_POOL="pgbouncer", WEB_CONCURRENCY="500")
    assert "parkme.W002" not in result.stdout + result.stderr
