"""Auto check-out of stale active bookings, as drivers and staff see it: a car that left
without an exit event stops holding its booking AUTO_CHECKOUT_AFTER_HOURS past the end and
the grace, the overstay is charged by the rate engine, staff find the booking under
"auto checked-out", and the driver hears of it exactly once."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookings import notifications, sweeps, tasks
from bookings.gate import GateAction, GateReason, gate_event_process
from bookings.models import Booking, BookingEvent, Notification, NotificationKind
from bookings.services import overstay_fee, vehicle_live_bookings_block_removal
from bookings.states import ActorKind, BookingStatus
from facilities.boards import board_of
from facilities.rating import price_window
from parkme.models import Role
from parkme.webhooks.events import EventType
from parkme.webhooks.models import WebhookDelivery
from tests import factories
from tests.admin.conftest import client_for, staff
from tests.background.conftest import minutes
from tests.concurrency import race
from tests.webhooks.conftest import make_endpoint

SWEEP = "auto_check_out"
CHANGELIST = "admin:bookings_booking_changelist"
# Defaults: AUTO_CHECKOUT_AFTER_HOURS = 12, and the garage's grace is 15 minutes.
AFTER = timedelta(hours=12)
GRACE = minutes(15)
ONE_MINUTE = minutes(1)


def stale(book, now, *, overdue: timedelta = ONE_MINUTE, **fields) -> Booking:
    """An active booking whose ends_at + grace + 12 h was ``overdue`` ago (negative: not yet)."""
    ends_at = now - AFTER - GRACE - overdue
    fields.setdefault("starts_at", ends_at - timedelta(hours=2))
    return book(
        status=BookingStatus.ACTIVE,
        ends_at=ends_at,
        checked_in_at=fields["starts_at"],
        **fields,
    )


def run(now=None, **kwargs) -> sweeps.SweepResult:
    return sweeps.sweep_run(SWEEP, now=now or timezone.now(), **kwargs)


def test_stale_booking_is_checked_out_with_the_overstay_fee_the_rate_engine_gives(garage, book):
    now = timezone.now()
    booking = stale(book, now)

    result = run(now)

    assert (result.count, result.notified) == (1, 1)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    # Checked out at its deadline (ends_at + grace + 12 h), not whenever the sweep ran.
    exit_at = booking.ends_at + GRACE + AFTER
    assert booking.checked_out_at == exit_at
    assert booking.auto_checked_out_at == now  # the staff-review flag: when the sweep ran
    version = garage.rate_versions.get()
    # The same figure a gate exit at that moment charges, and the engine's price of the
    # overstay window; by hand: 12 h 15 min = 13 started hours at 3.00 = 39.00, over the
    # board's daily maximum of 20.00.
    assert booking.overstay_fee == overstay_fee(
        booking=booking, version=version, checked_out_at=exit_at
    )
    engine = price_window(
        board_of(version), starts_at=booking.ends_at, ends_at=exit_at, kind=booking.spot_kind
    )
    assert booking.overstay_fee == engine.total == Decimal("20.00")
    assert booking.price == Decimal("6.00")  # the booked price stands
    event = booking.events.get()
    assert (event.from_status, event.to_status) == (BookingStatus.ACTIVE, BookingStatus.COMPLETED)
    assert (event.actor, event.actor_kind, event.at) == (None, ActorKind.SYSTEM, now)
    assert "auto check-out" in event.reason
    assert list(booking.notifications.values_list("kind", flat=True)) == [
        NotificationKind.AUTO_CHECKED_OUT
    ]


def test_fee_follows_the_version_that_priced_the_booking_and_its_grace(book):
    now = timezone.now()
    plain = factories.FacilityFactory(name="Plain Lot", timezone="Europe/Helsinki")
    version = factories.RateVersionFactory(
        facility=plain, hourly_rate="2.00", daily_max=None, grace_minutes=10
    )
    spot = factories.SpotFactory(zone__facility=plain)
    # Due only by this version's 10 minutes of grace (the garage's 15 would not be due yet).
    ends_at = now - AFTER - minutes(12)
    booking = book(
        spot=spot,
        facility=plain,
        rate_version=version,
        status=BookingStatus.ACTIVE,
        starts_at=ends_at - timedelta(hours=1),
        ends_at=ends_at,
    )

    assert run(now).count == 1

    booking.refresh_from_db()
    assert booking.checked_out_at == ends_at + minutes(10) + AFTER
    # 12 h 10 min past the end = 13 started hours at 2.00, no daily maximum on this board.
    assert booking.overstay_fee == Decimal("26.00")


def test_a_booking_just_under_the_threshold_is_left_alone(garage, book):
    now = timezone.now()
    almost = stale(book, now, overdue=-timedelta(seconds=1))
    exactly = stale(book, now, overdue=timedelta(0))
    parked = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(60), ends_at=now + minutes(5)
    )

    assert run(now).count == 1

    for booking in (almost, exactly, parked):
        booking.refresh_from_db()
    assert exactly.status == BookingStatus.COMPLETED
    assert almost.status == parked.status == BookingStatus.ACTIVE
    assert almost.auto_checked_out_at is None
    assert not almost.notifications.exists()
    assert not almost.events.exists()


def test_the_setting_moves_the_threshold(garage, book, settings):
    settings.PARKME_BACKGROUND = {**settings.PARKME_BACKGROUND, "AUTO_CHECKOUT_AFTER_HOURS": 2}
    now = timezone.now()
    booking = book(
        status=BookingStatus.ACTIVE,
        starts_at=now - timedelta(hours=5),
        ends_at=now - timedelta(hours=2) - GRACE - minutes(1),
    )

    assert run(now).count == 1
    booking.refresh_from_db()
    assert booking.checked_out_at == booking.ends_at + GRACE + timedelta(hours=2)
    # 2 h 15 min = 3 started hours at 3.00.
    assert booking.overstay_fee == Decimal("9.00")


def test_the_car_no_longer_counts_as_inside_once_checked_out(garage, book):
    """A stale active booking keeps the car "inside": the gate refuses it on its next booking
    and the vehicle cannot be removed. After the sweep both work again."""
    now = timezone.now()
    booking = stale(book, now)
    vehicle = booking.vehicle
    next_visit = book(vehicle=vehicle, starts_at=now + minutes(5), ends_at=now + timedelta(hours=2))
    device = factories.UserFactory()
    assert vehicle_live_bookings_block_removal(vehicle) is not None
    refused = gate_event_process(
        device=device, facility=garage, plate=vehicle.plate, direction="entry", now=now
    )
    assert (refused.action, refused.reason) == (GateAction.DENY, GateReason.ALREADY_INSIDE)

    run(now)

    admitted = gate_event_process(
        device=device, facility=garage, plate=vehicle.plate, direction="entry", now=now
    )
    assert (admitted.action, admitted.reason) == (GateAction.OPEN, GateReason.CHECKED_IN)
    assert admitted.booking.pk == next_visit.pk
    next_visit.refresh_from_db()
    assert next_visit.status == BookingStatus.ACTIVE
    # The old booking is history now: completed, it only counts for its booked window.
    assert Booking.objects.live().filter(pk=booking.pk).count() == 0


def test_run_twice_checks_out_and_notifies_once(garage, book):
    now = timezone.now()
    due = [stale(book, now, overdue=minutes(i)) for i in range(1, 6)]

    first = run(now, batch_size=2)
    second = run(now + minutes(15), batch_size=2)

    assert (first.count, second.count) == (5, 0)
    for booking in due:
        booking.refresh_from_db()
        assert booking.auto_checked_out_at == now  # not rewritten by the second run
        assert booking.events.count() == 1
        assert booking.notifications.count() == 1


def _stale_in_bulk(garage, count: int, *, with_version_every: int = 2) -> list[int]:
    """``count`` active bookings that all ended days ago, on one spot and one car (windows
    never overlap); every other one priced by the garage's version, the rest from before
    rate versions."""
    spot = factories.SpotFactory(zone__facility=garage)
    vehicle = factories.VehicleFactory()
    version = garage.rate_versions.get()
    first = timezone.now() - timedelta(days=20)
    Booking.objects.bulk_create(
        Booking(
            facility=garage,
            spot=spot,
            vehicle=vehicle,
            driver=vehicle.owner,
            starts_at=first + timedelta(minutes=20 * i),
            ends_at=first + timedelta(minutes=20 * i + 15),
            checked_in_at=first + timedelta(minutes=20 * i),
            status=BookingStatus.ACTIVE,
            rate_version=version if i % with_version_every == 0 else None,
            price=Decimal("3.00"),
            currency="EUR",
            reference=f"AC{i:06d}",
        )
        for i in range(count)
    )
    return list(Booking.objects.filter(spot=spot).values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_check_out_each_booking_once(garage):
    ids = _stale_in_bulk(garage, 120)
    now = timezone.now()
    counts = [result.count for result in race([lambda: run(now, batch_size=7)] * 2)]
    assert sum(counts) == 120  # no booking was done by both
    done = Booking.objects.filter(pk__in=ids)
    assert done.filter(status=BookingStatus.COMPLETED, auto_checked_out_at=now).count() == 120
    # 15 minutes booked, 12 h 15 min overstay: the daily maximum, whichever version path.
    assert set(done.values_list("overstay_fee", flat=True)) == {Decimal("20.00")}
    moves = BookingEvent.objects.filter(booking_id__in=ids, to_status=BookingStatus.COMPLETED)
    assert sorted(moves.values_list("booking_id", flat=True)) == sorted(ids)
    notified = Notification.objects.filter(booking_id__in=ids)
    assert sorted(notified.values_list("booking_id", flat=True)) == sorted(ids)
    assert set(notified.values_list("kind", flat=True)) == {NotificationKind.AUTO_CHECKED_OUT}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("count", [10, 300])
def test_a_batch_costs_the_same_few_queries_whatever_its_size(
    garage, count, django_assert_num_queries
):
    ids = _stale_in_bulk(garage, count)

    # One batch of `count`, one transaction: BEGIN, claim (FOR UPDATE SKIP LOCKED), read the
    # bookings with their pricing version ids, the versions, fees and flag (one UPDATE), the
    # move (UPDATE), its events, which webhook endpoints subscribe (none), outbox rows,
    # COMMIT; then one transaction whose claim comes back empty.
    with django_assert_num_queries(10 + 3):
        result = run(batch_size=count)

    assert result.count == count
    assert Booking.objects.filter(pk__in=ids, status=BookingStatus.COMPLETED).count() == count


def test_the_driver_is_told_when_and_what_was_charged_in_facility_time(garage, book):
    now = timezone.now()
    booking = stale(book, now)
    run(now)
    booking.refresh_from_db()
    notification = booking.notifications.get()

    message = notifications.notification_render(notification)

    assert "closed automatically" in message.subject
    assert booking.reference in message.subject
    local = garage.tz
    assert f"{booking.auto_checked_out_at.astimezone(local):%H:%M}" in message.body
    assert f"{booking.checked_out_at.astimezone(local):%H:%M}" in message.body
    assert "20.00 EUR" in message.body
    assert message.to == [booking.driver.email]
    html, _ = message.alternatives[0]
    assert "20.00 EUR" in html


def test_staff_find_it_under_auto_checked_out_only_in_their_operator(garage, book):
    now = timezone.now()
    auto = stale(book, now)
    run(now)
    normal = book(status=BookingStatus.COMPLETED, checked_out_at=now)
    other = factories.FacilityFactory(name="Elsewhere")
    factories.RateVersionFactory(facility=other)
    theirs = stale(book, now, facility=other, spot=factories.SpotFactory(zone__facility=other))
    run(now)
    theirs.refresh_from_db()
    assert theirs.auto_checked_out_at is not None
    mine = client_for(staff("attendant@garage.test", garage.operator, Role.ATTENDANT))
    outsider = client_for(staff("admin@elsewhere.test", other.operator, Role.ADMIN))

    flagged = mine.get(reverse(CHANGELIST), {"auto_checked_out": "yes"})
    unflagged = mine.get(reverse(CHANGELIST), {"auto_checked_out": "no"})
    elsewhere = outsider.get(reverse(CHANGELIST), {"auto_checked_out": "yes"})

    assert flagged.status_code == unflagged.status_code == elsewhere.status_code == 200
    html = flagged.content.decode()
    assert "auto checked-out" in html  # the filter's title in the sidebar
    assert auto.reference in html
    assert normal.reference not in html
    assert theirs.reference not in html
    assert normal.reference in unflagged.content.decode()
    assert auto.reference not in unflagged.content.decode()
    assert theirs.reference in elsewhere.content.decode()
    assert auto.reference not in elsewhere.content.decode()
    # The booking's own page says when it was closed, in the facility's time.
    page = mine.get(reverse("admin:bookings_booking_change", args=[auto.pk]))
    assert page.status_code == 200
    auto.refresh_from_db()
    shown = f"{auto.auto_checked_out_at.astimezone(garage.tz):%Y-%m-%d %H:%M}"
    assert "Auto checked-out (for review)" in page.content.decode()
    assert shown in page.content.decode()
    assert outsider.get(reverse("admin:bookings_booking_change", args=[auto.pk])).status_code in (
        302,
        404,
    )


def test_expire_bookings_lists_it_in_a_dry_run_and_runs_it(garage, book):
    booking = stale(book, timezone.now())

    dry = StringIO()
    call_command("expire_bookings", "--dry-run", stdout=dry)
    assert f"would auto check out 1 stale booking(s): {booking.reference}" in dry.getvalue()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE

    out = StringIO()
    call_command("expire_bookings", "--sweep", SWEEP, stdout=out)
    assert "did auto check out 1 stale booking(s) (1 notification(s) queued)" in out.getvalue()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED


def test_a_subscribed_endpoint_receives_booking_checked_out(garage, book):
    make_endpoint(garage.operator, "https://hooks.example.com/parkme")
    now = timezone.now()
    booking = stale(book, now)

    run(now)
    run(now)

    rows = WebhookDelivery.objects.filter(event_type=EventType.BOOKING_CHECKED_OUT)
    assert rows.count() == 1
    data = json.loads(rows.get().payload)["data"]
    assert data["id"] == str(booking.public_id)
    assert (data["status"], data["overstay_fee"]) == ("completed", "20.00")
    assert data["checked_out_at"] is not None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_task_runs_on_a_real_worker(garage, book, start_worker):
    booking = stale(book, timezone.now())
    start_worker()

    assert tasks.auto_check_out.delay().get(timeout=60) == 1

    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
