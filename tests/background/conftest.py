from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
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
from bookings.services import BookingRequest, booking_create
from config.celery import app as celery_app
from tests import factories

QUEUES = ("celery", "notifications", "maintenance")
BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def garage(db):
    facility = factories.FacilityFactory(name="Harbour Garage", timezone="Europe/Helsinki")
    factories.RateVersionFactory(facility=facility, grace_minutes=15)
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


def book_through_the_engine(garage) -> Booking:
    """A confirmed booking made the way the API makes it (outbox row, enqueue on commit)."""
    driver = factories.UserFactory()
    car = factories.VehicleFactory(owner=driver)
    factories.SpotFactory(zone__facility=garage)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    booking, _ = booking_create(
        driver=driver,
        request=BookingRequest(
            facility_id=garage.pk,
            vehicle_id=car.pk,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        ),
    )
    return booking


@pytest.fixture
def refusing_smtp() -> Iterator[dict]:
    """A real SMTP socket on localhost that answers every connection with 421 and hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    seen = {"connections": 0, "port": server.getsockname()[1]}
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            seen["connections"] += 1
            with conn:
                conn.sendall(b"421 4.3.2 Service not available, closing channel\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield seen
    stop.set()
    thread.join(timeout=5)
    server.close()


# --- a real Celery worker -------------------------------------------------------------------


def celery_env(*, log_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """What a Celery process of the tests runs with: the test database and broker, and
    e-mail written to log_dir/mail.log."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.background.worker_settings",
        "PARKME_WORKER_DB_NAME": connection.settings_dict["NAME"],
        "PARKME_TEST_MAIL_LOG": str(log_dir / "mail.log"),
        "LOG_LEVEL": "INFO",
        **(env or {}),
    }


class CeleryProcess:
    """`celery -A config <args>` in its own process group, its output in log_path."""

    kind = "celery"

    def __init__(self, args: list[str], *, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def log_says(self, marker: bytes) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.kind} exited early:\n{self.log()}")
        return marker in self.log_path.read_bytes()

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


class Worker(CeleryProcess):
    """A Celery worker on the test database and test broker."""

    kind = "worker"

    def __init__(self, *, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = f"bgtest-{uuid.uuid4().hex[:8]}@%h"
        self.mail_log = log_dir / "mail.log"
        super().__init__(
            [
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
            log_path=log_dir / f"worker-{uuid.uuid4().hex[:6]}.log",
            env=celery_env(log_dir=log_dir, env=env),
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_says(b" ready."):
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log()}")


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
