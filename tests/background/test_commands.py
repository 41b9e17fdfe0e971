"""The ops commands: installing beat schedules and running the sweeps by hand."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from bookings.models import Booking, BookingEvent, Notification
from bookings.schedules import PREFIX, SCHEDULES
from bookings.states import BookingStatus
from tests.background.conftest import minutes


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_setup_schedules_installs_every_schedule_once(db):
    first = _run("setup_schedules")
    second = _run("setup_schedules")

    assert f"{len(SCHEDULES)} created" in first
    assert f"0 created, 0 updated, {len(SCHEDULES)} unchanged, 0 removed" in second
    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert set(tasks) == set(SCHEDULES)
    expire = tasks[f"{PREFIX}expire holds"]
    assert (expire.task, expire.interval.every, expire.interval.period) == (
        "bookings.expire_holds",
        60,
        "seconds",
    )
    assert tasks[f"{PREFIX}flag overstays"].interval.every == 300
    rollup = tasks[f"{PREFIX}occupancy roll-up"].crontab
    assert (rollup.minute, rollup.hour) == ("5", "*")
    assert str(tasks[f"{PREFIX}anonymise old bookings"].crontab.timezone) == "UTC"


def test_setup_schedules_resets_edits_and_removes_only_our_retired_schedules(db):
    _run("setup_schedules")
    expire = PeriodicTask.objects.get(name=f"{PREFIX}expire holds")
    expire.enabled = False
    expire.task = "bookings.something_else"
    expire.save()
    retired = PeriodicTask.objects.create(
        name=f"{PREFIX}retired sweep", task="bookings.gone", interval=expire.interval
    )
    someone_elses = PeriodicTask.objects.create(
        name="ops: vacuum", task="ops.vacuum", interval=expire.interval
    )

    out = _run("setup_schedules")

    assert "updated  parkme: expire holds: task, enabled" in out
    assert "removed  parkme: retired sweep" in out
    expire.refresh_from_db()
    assert (expire.task, expire.enabled) == ("bookings.expire_holds", True)
    assert not PeriodicTask.objects.filter(pk=retired.pk).exists()
    assert PeriodicTask.objects.filter(pk=someone_elses.pk).exists()


def test_expire_bookings_dry_run_says_what_it_would_do_and_changes_nothing(book):
    now = timezone.now()
    hold = book(status=BookingStatus.HELD, hold_expires_at=now - minutes(1))
    no_show = book(starts_at=now - minutes(30), ends_at=now + minutes(30))

    out = _run("expire_bookings", "--dry-run")

    assert f"would expire 1 timed-out hold(s): {hold.reference}" in out
    assert f"would expire 1 no-show(s): {no_show.reference}" in out
    assert "would flag 0 overstay(s)" in out
    assert set(Booking.objects.values_list("status", flat=True)) == {
        BookingStatus.HELD,
        BookingStatus.CONFIRMED,
    }
    assert not BookingEvent.objects.exists()
    assert not Notification.objects.exists()


def test_expire_bookings_runs_the_sweeps_now(book):
    now = timezone.now()
    book(status=BookingStatus.HELD, hold_expires_at=now - minutes(1))
    no_show = book(starts_at=now - minutes(30), ends_at=now + minutes(30))

    out = _run("expire_bookings")

    assert "did expire 1 timed-out hold(s)" in out
    assert "did expire 1 no-show(s) (1 notification(s) queued)" in out
    assert set(Booking.objects.values_list("status", flat=True)) == {BookingStatus.EXPIRED}
    assert no_show.notifications.get().kind == BookingStatus.EXPIRED
