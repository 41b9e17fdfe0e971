from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from config.celery import app as celery_app
from tests import factories

QUEUES = ("celery", "notifications", "maintenance")
BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def garage(db):
    facility = factories.FacilityFactory(name="Harbour Garage", timezone="Europe/Helsinki")
    factories.RatePlanFactory(facility=facility, grace_minutes=15)
    return facility


@pytest.fixture
def book(garage) -> Callable[..., Booking]:
    """A booking on its own spot and vehicle in the garage (so windows never collide)."""

    def make(**fields) -> Booking:
        fields.setdefault(
            "spot", factories.SpotFactory(zone__facility=fields.get("facility", garage))
        )
        return factories.BookingFactory(**fields)

    return make


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def now():
    return timezone.now()


# --- a real Celery worker -------------------------------------------------------------------


class Worker:
    """`celery -A config worker` in a subprocess, on the test database and test broker."""

    def __init__(self, *, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = f"bgtest-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.mail_log = log_dir / "mail.log"
        worker_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.background.worker_settings",
            "PARKME_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "PARKME_TEST_MAIL_LOG": str(self.mail_log),
            "LOG_LEVEL": "INFO",
            **(env or {}),
        }
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "-Q",
                ",".join(QUEUES),
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=BASE_DIR,
            env=worker_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if b" ready." in self.log_path.read_bytes():
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no ack, open transactions die with the process."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def purge_test_queues() -> None:
    """Drop messages earlier tests of this run published but no worker consumed."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(env: dict[str, str] | None = None) -> Worker:
        if not workers:
            purge_test_queues()
        worker = Worker(log_dir=tmp_path, env=env)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}")
