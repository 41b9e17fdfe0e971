"""Worker liveness and beat's heartbeat as ops see them, with a real `celery worker` and a
real `celery beat` (the scheduler the settings name, as systemd and the Procfile run it)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from parkme import monitoring
from tests.background import conftest as background
from tests.background.conftest import QUEUES, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
start_worker = background.start_worker


class SettingsBeat(background.CeleryProcess):
    """`celery -A config beat` with no --scheduler: the settings choose it."""

    kind = "beat"

    def __init__(self, *, log_dir: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        super().__init__(
            ["beat", "--schedule", str(log_dir / f"beat-{tag}-schedule"), "--loglevel=INFO"],
            log_path=log_dir / f"beat-{tag}.log",
            env=background.celery_env(log_dir=log_dir),
        )


def _workers_metric() -> dict[str, float]:
    body = Client().get("/metrics").content.decode()
    return {
        sample.labels["queue"]: sample.value
        for family in text_string_to_metric_families(body)
        if family.name == "parkme_celery_workers"
        for sample in family.samples
    }


def test_a_running_worker_is_seen_per_queue_and_readiness_stops_degrading(start_worker):
    cache.clear()
    before = Client().get("/health/ready/").json()
    assert "workers" in before["degraded"]
    assert _workers_metric() == dict.fromkeys(QUEUES, 0)

    worker = start_worker()
    cache.clear()  # forget the cached "nobody answered"

    ready = Client().get("/health/ready/")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"]["workers"]["ok"] is True, body["checks"]["workers"]
    assert body["checks"]["workers"]["by_queue"] == dict.fromkeys(QUEUES, 1)
    assert "workers" not in body["degraded"]
    assert _workers_metric() == dict.fromkeys(QUEUES, 1)
    stats = Client().get("/monitoring/stats/").json()
    assert stats["workers"]["total"] == 1
    assert stats["workers"]["names"][0].startswith(worker.name.split("@")[0])

    worker.stop()
    cache.clear()
    after = Client().get("/health/ready/").json()
    assert after["status"] == "healthy"  # degraded, never failing
    assert after["checks"]["workers"]["ok"] is False


def test_beat_records_a_heartbeat_that_readiness_reports(tmp_path):
    cache.clear()
    assert monitoring.beat_heartbeat()["last_tick"] is None
    beat = SettingsBeat(log_dir=tmp_path)
    try:
        wait_for(
            lambda: beat.log_says(b"beat: Starting") and monitoring.beat_heartbeat()["ok"],
            timeout=60,
            what="beat's first heartbeat",
        )
        assert b"parkme.beat.HeartbeatScheduler" in beat.log_path.read_bytes()
    finally:
        beat.stop()
    body = Client().get("/health/ready/").json()
    assert body["checks"]["beat"]["ok"] is True
    assert body["checks"]["beat"]["age_seconds"] < 30
    assert "beat" not in body["degraded"]
