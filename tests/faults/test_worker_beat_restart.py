"""Beat and the worker killed (SIGKILL) while a burst of no-shows is being expired, more
bookings falling due while both are down, then both restarted: every booking is expired
once, every driver gets one no-show e-mail, nothing is lost and nothing is doubled.

Real processes on the test database and the test Redis broker: `celery worker` (the
tests/background machinery) and `celery beat` with the DatabaseScheduler, driven by a
test-only one-second schedule installed in the database the way setup_schedules installs
the real one-minute schedule."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from bookings import tasks
from bookings.models import (
    Booking,
    BookingEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from bookings.states import BookingStatus
from tests import factories
from tests.background import conftest as background
from tests.background.conftest import minutes, now, wait_for
from tests.background.mailbox import read_log

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
start_worker = background.start_worker  # the real-worker fixture of tests/background

FIRST_BURST = 200
SECOND_BURST = 150
TIMEOUT = 90
# Small batches and a small per-run budget, so one run expires 30 bookings and the burst
# takes several beat ticks: the kill lands in the middle of the work, not after it. The
# outbox sweep treats a row as forgotten after a second instead of a minute.
WORKER_ENV = {
    "SWEEP_BATCH_SIZE": "10",
    "SWEEP_MAX_BATCHES": "3",
    "NOTIFICATION_PENDING_AFTER_SECONDS": "1",
}


class Beat(background.CeleryProcess):
    """`celery -A config beat` with the DatabaseScheduler, in the environment a Worker gets."""

    kind = "beat"

    def __init__(self, *, log_dir: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        super().__init__(
            [
                "beat",
                "--scheduler",
                "parkme.beat:HeartbeatScheduler",
                "--max-interval",
                "1",
                "--schedule",
                str(log_dir / f"beat-{tag}-schedule"),
                "--loglevel=INFO",
            ],
            log_path=log_dir / f"beat-{tag}.log",
            env=background.celery_env(log_dir=log_dir),
        )

    def sent_anything(self) -> bool:
        return self.log_says(b"Sending due task")


@pytest.fixture
def start_beat(tmp_path):
    beats: list[Beat] = []

    def start() -> Beat:
        beat = Beat(log_dir=tmp_path)
        beats.append(beat)
        wait_for(beat.sent_anything, timeout=60, what="beat to send its first task")
        return beat

    yield start
    for beat in beats:
        beat.stop()


def _install_fast_schedule() -> None:
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    for name, task in [
        ("test: expire no-shows", tasks.expire_no_shows.name),
        ("test: deliver pending notifications", tasks.deliver_pending_notifications.name),
    ]:
        PeriodicTask.objects.create(
            name=name, task=task, interval=every_second, expire_seconds=5, enabled=True
        )


def _due_no_shows(facility, n: int) -> list[int]:
    """n confirmed bookings, each on its own spot, that started 30 minutes ago: with the
    garage's 15 minutes' grace they are no-shows, due now."""
    zone = factories.ZoneFactory(facility=facility)
    start = now() - minutes(30)
    return [
        factories.BookingFactory(
            spot=factories.SpotFactory(zone=zone), starts_at=start, ends_at=start + minutes(120)
        ).pk
        for _ in range(n)
    ]


def _expired() -> int:
    return Booking.objects.filter(status=BookingStatus.EXPIRED).count()


def _sent(mail_log: Path) -> list[int]:
    return [int(r["notification"]) for r in read_log(mail_log) if r["event"] == "sent"]


def test_beat_and_worker_killed_mid_burst_lose_and_double_nothing(garage, start_worker, start_beat):
    _install_fast_schedule()
    first = _due_no_shows(garage, FIRST_BURST)
    worker = start_worker(env=WORKER_ENV)
    beat = start_beat()

    # Kill both once the sweep is well into the burst (and mail for it is going out).
    wait_for(
        lambda: _expired() >= 60 and _sent(worker.mail_log),
        timeout=TIMEOUT,
        what="the first expiries and e-mails of the burst",
    )
    worker.kill()
    beat.kill()
    left_at_kill = Booking.objects.filter(status=BookingStatus.CONFIRMED).count()
    log_at_kill = read_log(worker.mail_log)
    assert left_at_kill > 0, "the kill came after the whole burst: nothing was interrupted"

    # While nothing runs, another burst falls due.
    second = _due_no_shows(garage, SECOND_BURST)
    everyone = sorted(first + second)

    restarted = start_worker(env=WORKER_ENV)
    restarted_beat = start_beat()

    def all_expired_and_mailed() -> bool:
        return (
            not Booking.objects.filter(status=BookingStatus.CONFIRMED).exists()
            and not Notification.objects.exclude(status=NotificationStatus.SENT).exists()
            and Notification.objects.count() == len(everyone)
        )

    try:
        wait_for(all_expired_and_mailed, timeout=TIMEOUT, what="every booking expired and mailed")
    except TimeoutError as exc:
        raise AssertionError(
            f"{exc}: {_expired()}/{len(everyone)} expired, "
            f"{Notification.objects.filter(status=NotificationStatus.SENT).count()} sent\n"
            f"worker log:\n{restarted.log()}\nbeat log:\n{restarted_beat.log()}"
        ) from exc

    # Every booking expired exactly once: one confirmed → expired event each.
    assert sorted(Booking.objects.values_list("pk", flat=True)) == everyone
    assert set(Booking.objects.values_list("status", flat=True)) == {BookingStatus.EXPIRED}
    events = list(BookingEvent.objects.values_list("booking_id", "from_status", "to_status"))
    assert sorted(events) == [
        (pk, BookingStatus.CONFIRMED, BookingStatus.EXPIRED) for pk in everyone
    ]

    # Exactly one no-show notification per booking, every one of them sent.
    notifications = dict(Notification.objects.values_list("pk", "booking_id"))
    assert sorted(notifications.values()) == everyone
    assert set(Notification.objects.values_list("kind", flat=True)) == {NotificationKind.EXPIRED}

    # Every one delivered: none lost. None doubled, except what the delivery guarantee
    # allows (at-least-once, bookings/notifications.py): the one message a SIGKILL caught
    # between the mail server's acceptance and the commit may go out a second time.
    delivered = Counter(_sent(worker.mail_log))
    assert sorted(delivered) == sorted(notifications)
    doubled = {pk for pk, n in delivered.items() if n > 1}
    starts_before_kill = [int(r["notification"]) for r in log_at_kill if r["event"] == "start"]
    in_flight = {starts_before_kill[-1]} if starts_before_kill else set()
    assert doubled <= in_flight, f"delivered more than once: {doubled}"
    assert set(delivered.values()) <= {1, 2}
