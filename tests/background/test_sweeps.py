"""The sweeps as a driver or operator sees them: spots come free, each booking changes once,
each driver hears of it once, and a big backlog costs a few queries per batch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import sweeps
from bookings.models import (
    Booking,
    BookingEvent,
    Notification,
    NotificationKind,
)
from bookings.states import BookingStatus
from parkme.cache_versions import versions
from tests import factories
from tests.background.conftest import minutes
from tests.concurrency import race


def test_timed_out_hold_is_expired_and_frees_the_spot(
    garage, book, django_capture_on_commit_callbacks
):
    now = timezone.now()
    due = book(status=BookingStatus.HELD, hold_expires_at=now - minutes(1))
    still_held = book(status=BookingStatus.HELD, hold_expires_at=now + minutes(5))
    before = versions([garage.id])[garage.id]

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_run("expire_holds", now=now)

    assert result.count == 1
    due.refresh_from_db()
    still_held.refresh_from_db()
    assert due.status == BookingStatus.EXPIRED
    assert still_held.status == BookingStatus.HELD
    event = due.events.get()
    assert (event.from_status, event.to_status) == (BookingStatus.HELD, BookingStatus.EXPIRED)
    assert event.actor is None
    assert event.actor_kind == "system"
    assert event.at == now
    # The hold was never confirmed, so there is nothing to tell the driver.
    assert not Notification.objects.filter(booking=due).exists()
    # Cached search results for the garage are invalidated: the spot is free again.
    assert versions([garage.id])[garage.id] == before + 1


def test_no_show_expires_only_after_the_facilitys_grace(garage, book):
    now = timezone.now()
    strict = factories.FacilityFactory(name="Strict Garage")
    factories.RateVersionFactory(facility=strict, grace_minutes=0)
    within_grace = book(starts_at=now - minutes(14), ends_at=now + minutes(60))
    past_grace = book(starts_at=now - minutes(16), ends_at=now + minutes(60))
    strict_late = book(
        facility=strict,
        spot=factories.SpotFactory(zone__facility=strict),
        starts_at=now - minutes(1),
        ends_at=now + minutes(60),
    )
    checked_in = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(60), ends_at=now + minutes(60)
    )

    result = sweeps.sweep_run("expire_no_shows", now=now)

    assert result.count == 2
    statuses = dict(
        Booking.objects.filter(
            pk__in=[within_grace.pk, past_grace.pk, strict_late.pk, checked_in.pk]
        ).values_list("pk", "status")
    )
    assert statuses == {
        within_grace.pk: BookingStatus.CONFIRMED,
        past_grace.pk: BookingStatus.EXPIRED,
        strict_late.pk: BookingStatus.EXPIRED,
        checked_in.pk: BookingStatus.ACTIVE,
    }
    assert set(
        Notification.objects.filter(kind=NotificationKind.EXPIRED).values_list(
            "booking_id", flat=True
        )
    ) == {past_grace.pk, strict_late.pk}
    past_grace.refresh_from_db()
    assert past_grace.price == Decimal("6.00")  # a no-show pays; nothing else changes


def test_sweep_run_twice_expires_each_booking_once(book):
    now = timezone.now()
    due = [book(starts_at=now - timedelta(hours=3 + i), ends_at=now) for i in range(5)]

    first = sweeps.sweep_run("expire_no_shows", now=now, batch_size=2)
    second = sweeps.sweep_run("expire_no_shows", now=now + minutes(1), batch_size=2)

    assert (first.count, second.count) == (5, 0)
    for booking in due:
        assert (
            BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.EXPIRED).count()
            == 1
        )
        assert Notification.objects.filter(booking=booking).count() == 1


def _past_no_shows(garage, count: int) -> list[int]:
    """`count` confirmed bookings that all started long ago, on one spot and one car."""
    spot = factories.SpotFactory(zone__facility=garage)
    vehicle = factories.VehicleFactory()
    first = timezone.now() - timedelta(days=20)
    Booking.objects.bulk_create(
        Booking(
            facility=garage,
            spot=spot,
            vehicle=vehicle,
            driver=vehicle.owner,
            starts_at=first + timedelta(minutes=20 * i),
            ends_at=first + timedelta(minutes=20 * i + 15),
            status=BookingStatus.CONFIRMED,
            price=Decimal("3.00"),
            currency="EUR",
            reference=f"NS{i:06d}",
        )
        for i in range(count)
    )
    return list(Booking.objects.filter(spot=spot).values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_expire_each_booking_once(garage):
    ids = _past_no_shows(garage, 300)
    now = timezone.now()
    counts = [
        result.count
        for result in race(
            [lambda: sweeps.sweep_run("expire_no_shows", now=now, batch_size=20)] * 2
        )
    ]
    assert sum(counts) == 300  # no booking was done by both
    assert Booking.objects.filter(pk__in=ids, status=BookingStatus.EXPIRED).count() == 300
    per_booking = BookingEvent.objects.filter(
        booking_id__in=ids, to_status=BookingStatus.EXPIRED
    ).values_list("booking_id", flat=True)
    assert sorted(per_booking) == sorted(ids)
    notified = Notification.objects.filter(booking_id__in=ids, kind=NotificationKind.EXPIRED)
    assert sorted(notified.values_list("booking_id", flat=True)) == sorted(ids)


@pytest.mark.django_db(transaction=True)
def test_sweep_over_1000_due_bookings_costs_seven_queries_per_batch(
    garage, django_assert_num_queries
):
    ids = _past_no_shows(garage, 1000)

    # Per batch of 500, one transaction: BEGIN, claim (SELECT … FOR UPDATE SKIP LOCKED),
    # UPDATE, events, which webhook endpoints subscribe (none), outbox rows, COMMIT; then one
    # transaction whose claim comes back empty.
    with django_assert_num_queries(2 * 7 + 3):
        result = sweeps.sweep_run("expire_no_shows", batch_size=500)

    assert result.count == 1000
    assert Booking.objects.filter(pk__in=ids, status=BookingStatus.EXPIRED).count() == 1000
    assert BookingEvent.objects.filter(booking_id__in=ids).count() == 1000
    assert Notification.objects.filter(booking_id__in=ids).count() == 1000


@pytest.mark.django_db(transaction=True)
def test_hold_sweep_over_1000_due_bookings_costs_six_queries_per_batch(
    garage, django_assert_num_queries
):
    ids = _past_no_shows(garage, 1000)
    Booking.objects.filter(pk__in=ids).update(
        status=BookingStatus.HELD, hold_expires_at=timezone.now() - minutes(1)
    )

    # BEGIN, claim, UPDATE, events, which webhook endpoints subscribe, COMMIT per batch (a
    # hold expires silently), then the empty claim's transaction.
    with django_assert_num_queries(2 * 6 + 3):
        result = sweeps.sweep_run("expire_holds", batch_size=500)

    assert result.count == 1000
    assert not Booking.objects.filter(pk__in=ids, status=BookingStatus.HELD).exists()


def test_overstay_is_flagged_once_and_only_after_grace(book):
    now = timezone.now()
    overstaying = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(120), ends_at=now - minutes(16)
    )
    in_grace = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(120), ends_at=now - minutes(10)
    )

    assert sweeps.sweep_run("flag_overstays", now=now).count == 1
    assert sweeps.sweep_run("flag_overstays", now=now + minutes(5)).count == 0

    flags = Notification.objects.filter(kind=NotificationKind.OVERSTAY)
    assert list(flags.values_list("booking_id", flat=True)) == [overstaying.pk]
    overstaying.refresh_from_db()
    in_grace.refresh_from_db()
    assert overstaying.status == in_grace.status == BookingStatus.ACTIVE


def test_reminders_go_out_once_in_their_window(book):
    now = timezone.now()
    starting_soon = book(starts_at=now + minutes(20), ends_at=now + minutes(140))
    starting_later = book(starts_at=now + minutes(90), ends_at=now + minutes(200))
    booked_just_now = book(starts_at=now + minutes(10), ends_at=now + minutes(70))
    ending_soon = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(60), ends_at=now + minutes(10)
    )
    Booking.objects.exclude(pk=booked_just_now.pk).update(created_at=now - timedelta(days=1))

    assert sweeps.sweep_run("start_reminders", now=now).count == 1
    assert sweeps.sweep_run("ending_soon", now=now).count == 1
    assert sweeps.sweep_run("start_reminders", now=now + minutes(1)).count == 0
    assert sweeps.sweep_run("ending_soon", now=now + minutes(1)).count == 0

    sent = set(Notification.objects.values_list("booking_id", "kind"))
    assert sent == {
        (starting_soon.pk, NotificationKind.REMINDER_START),
        (ending_soon.pk, NotificationKind.ENDING_SOON),
    }
    assert starting_later.notifications.count() == 0


def test_old_ended_bookings_lose_personal_data_but_keep_the_money(book, caplog):
    now = timezone.now()
    old = book(
        status=BookingStatus.COMPLETED,
        starts_at=now - timedelta(days=401, hours=2),
        ends_at=now - timedelta(days=401),
        price=Decimal("12.00"),
    )
    plate = old.vehicle.plate_normalized
    recent = book(
        status=BookingStatus.COMPLETED,
        starts_at=now - timedelta(days=30, hours=2),
        ends_at=now - timedelta(days=30),
    )
    BookingEvent.objects.create(
        booking=old,
        from_status="",
        to_status=BookingStatus.CONFIRMED,
        actor=old.driver,
        at=old.starts_at,
    )

    with caplog.at_level("INFO"):
        assert sweeps.sweep_run("anonymize", now=now).count == 1
        assert sweeps.sweep_run("anonymize", now=now).count == 0

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.driver is None
    assert old.vehicle is None
    assert old.anonymized_at == now
    assert (old.price, old.currency, old.starts_at) == (
        Decimal("12.00"),
        "EUR",
        now - timedelta(days=401, hours=2),
    )
    assert old.events.get().actor is None
    assert recent.driver is not None
    assert recent.anonymized_at is None
    assert plate not in caplog.text


def test_occupancy_roll_up_counts_booked_minutes_per_facility(garage, book):
    from facilities.models import OccupancyRollup

    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    other = factories.FacilityFactory(name="Empty Garage")
    factories.SpotFactory.create_batch(2, zone__facility=other)
    book(  # the whole hour
        status=BookingStatus.COMPLETED, starts_at=hour - minutes(30), ends_at=hour + minutes(90)
    )
    book(  # the second half
        status=BookingStatus.ACTIVE, starts_at=hour + minutes(30), ends_at=hour + minutes(150)
    )
    book(status=BookingStatus.CANCELLED, starts_at=hour, ends_at=hour + minutes(60))

    assert sweeps.occupancy_roll_up(hour=hour + minutes(10)) == 2
    assert sweeps.occupancy_roll_up(hour=hour) == 2  # a re-run rewrites, never duplicates

    rows = {r.facility_id: r for r in OccupancyRollup.objects.filter(hour=hour)}
    assert len(rows) == 2
    busy = rows[garage.id]
    assert busy.spots_total == 3
    assert busy.spots_used == 2
    assert busy.occupied_minutes == 90
    assert busy.bookings_started == 1
    assert busy.occupancy == pytest.approx(90 / 180)
    assert (rows[other.id].spots_total, rows[other.id].occupied_minutes) == (2, 0)
