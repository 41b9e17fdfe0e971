"""The gate's decision table across bookings and permits: what opens, what stays shut, why."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bookings.gate import gate_event_process
from bookings.models import Booking, GateEvent
from bookings.permits import permit_suspend
from bookings.states import BookingStatus, PermitStatus
from tests.api.conftest import api_client_for
from tests.factories import (
    ALL_WEEK,
    WORKDAYS,
    BookingFactory,
    FacilityFactory,
    UserFactory,
    VehicleFactory,
    permit,
    permit_product,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/operator/gate-events/"
HELSINKI = ZoneInfo("Europe/Helsinki")


@pytest.fixture
def device(garage, device_of):
    return device_of(garage.operator)


@pytest.fixture
def gate(device):
    return api_client_for(device)


def _event(client, facility, plate, direction="entry"):
    r = client.post(
        URL, {"facility": facility.id, "plate": plate, "direction": direction}, format="json"
    )
    assert r.status_code == 200, r.content
    return r.json()


def _at(device, facility, plate, when, direction="entry"):
    decision = gate_event_process(
        device=device, facility=facility, plate=plate, direction=direction, now=when
    )
    return decision.action, decision.reason


def _booking_now(garage, plate):
    now = timezone.now()
    return BookingFactory(
        spot=garage.spots.first(),
        vehicle=VehicleFactory(plate=plate),
        starts_at=now + timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
    )


# --- booking vs permit vs both vs neither -------------------------------------------------


def test_a_permit_alone_opens_and_the_event_names_it(gate, garage):
    pass_ = permit(permit_product(garage), plates=["PRM-001"])
    body = _event(gate, garage, "prm 001")
    assert (body["action"], body["reason"]) == ("open", "permit_entry")
    assert body["booking"] is None
    assert body["permit"]["reference"] == pass_.reference
    assert GateEvent.objects.get().permit == pass_


def test_a_booking_in_its_window_wins_over_a_permit(gate, garage):
    booking = _booking_now(garage, "BOTH-1")
    permit(permit_product(garage), plates=["BOTH-1"])
    body = _event(gate, garage, "BOTH1")
    assert (body["action"], body["reason"]) == ("open", "checked_in")
    assert body["booking"]["reference"] == booking.reference
    assert body["permit"] is None
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_a_booking_too_early_still_lets_a_permit_holder_in(gate, garage):
    now = timezone.now()
    BookingFactory(
        spot=garage.spots.first(),
        vehicle=VehicleFactory(plate="EARLY-1"),
        starts_at=now + timedelta(hours=5),
        ends_at=now + timedelta(hours=7),
    )
    permit(permit_product(garage), plates=["EARLY-1"])
    body = _event(gate, garage, "EARLY-1")
    assert (body["action"], body["reason"]) == ("open", "permit_entry")
    assert Booking.objects.get().status == BookingStatus.CONFIRMED  # untouched


def test_neither_booking_nor_permit_is_denied(gate, garage):
    body = _event(gate, garage, "NOBODY-1")
    assert (body["action"], body["reason"], body["permit"]) == ("deny", "no_booking", None)


def test_a_permit_of_another_facility_does_not_open_here(gate, garage):
    other = FacilityFactory(operator=garage.operator)
    permit(permit_product(other), plates=["ELSE-1"])
    assert _event(gate, garage, "ELSE-1")["reason"] == "no_booking"


# --- hours, DST, period, status -----------------------------------------------------------


def test_outside_the_products_hours_is_denied(device, garage):
    product = permit_product(garage, hours=((WORKDAYS, "06:00", "20:00"),))
    friday = datetime(2026, 11, 27, tzinfo=HELSINKI).date()
    permit(product, plates=["COMM-1"], valid_from=friday)
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=HELSINKI)
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=HELSINKI)  # ends is exclusive
    friday_evening = datetime(2026, 11, 27, 19, 59, tzinfo=HELSINKI)
    assert _at(device, garage, "COMM-1", saturday_noon) == ("deny", "permit_outside_hours")
    assert _at(device, garage, "COMM-1", friday_night) == ("deny", "permit_outside_hours")
    assert _at(device, garage, "COMM-1", friday_evening) == ("open", "permit_entry")


@pytest.mark.parametrize(
    ("local", "fold", "expected"),
    [
        # The night of the autumn change in Helsinki (04:00 EEST → 03:00 EET): the repeated
        # hour is inside the night both times, and the morning still ends at 09:00 local.
        ((2026, 10, 25, 3, 30), 0, ("open", "permit_entry")),
        ((2026, 10, 25, 3, 30), 1, ("open", "permit_entry")),
        ((2026, 10, 25, 8, 59), 0, ("open", "permit_entry")),
        ((2026, 10, 25, 9, 0), 0, ("deny", "permit_outside_hours")),
        ((2026, 10, 24, 16, 59), 0, ("deny", "permit_outside_hours")),
        # Spring: the skipped hour does not exist, 05:00 the same night is inside.
        ((2026, 3, 29, 5, 0), 0, ("open", "permit_entry")),
    ],
)
def test_a_night_permit_across_daylight_saving_changes(device, garage, local, fold, expected):
    product = permit_product(garage, hours=((ALL_WEEK, "17:00", "09:00"),))
    when = datetime(*local, tzinfo=HELSINKI, fold=fold)
    permit(product, plates=["NIGHT-1"], valid_from=(when - timedelta(days=2)).date())
    assert _at(device, garage, "NIGHT-1", when) == expected


def test_a_suspended_permit_is_denied_and_reactivation_is_needed(gate, garage):
    staff = UserFactory()
    pass_ = permit(permit_product(garage), plates=["SUSP-1"])
    permit_suspend(permit=pass_, actor=staff, reason="payment failed")
    body = _event(gate, garage, "SUSP-1")
    assert (body["action"], body["reason"]) == ("deny", "permit_suspended")
    assert body["permit"]["status"] == PermitStatus.SUSPENDED


def test_a_cancelled_permit_still_opens_until_its_period_ends(device, garage):
    pass_ = permit(permit_product(garage), plates=["CANC-1"])
    pass_.status = PermitStatus.CANCELLED
    pass_.save()
    assert _at(device, garage, "CANC-1", timezone.now()) == ("open", "permit_entry")
    after = pass_.valid_to + timedelta(minutes=1)
    assert _at(device, garage, "CANC-1", after) == ("deny", "permit_expired")


def test_a_permit_not_yet_started_is_denied(device, garage):
    today = timezone.now().astimezone(garage.tz).date()
    permit(permit_product(garage), plates=["SOON-1"], valid_from=today + timedelta(days=3))
    assert _at(device, garage, "SOON-1", timezone.now()) == ("deny", "permit_not_started")


# --- presence: anti-passback and capacity -------------------------------------------------


def test_a_second_vehicle_of_one_permit_waits_for_the_first_to_leave(gate, garage):
    permit(permit_product(garage), plates=["FAM-1", "FAM-2"])
    assert _event(gate, garage, "FAM-1")["reason"] == "permit_entry"
    second = _event(gate, garage, "FAM-2")
    assert (second["action"], second["reason"]) == ("deny", "permit_vehicle_inside")
    assert _event(gate, garage, "FAM-1", "exit")["reason"] == "permit_exit"
    assert _event(gate, garage, "FAM-2")["reason"] == "permit_entry"


def test_the_same_vehicle_again_after_a_missed_exit_is_let_in(gate, garage):
    permit(permit_product(garage, allocated_spaces=1), plates=["LOOP-1"])
    assert _event(gate, garage, "LOOP-1")["action"] == "open"
    assert _event(gate, garage, "LOOP-1")["action"] == "open"


def test_holders_inside_never_exceed_the_allocation(gate, garage):
    product = permit_product(garage, allocated_spaces=2, oversell_percent=50)
    for plate in ("CAP-1", "CAP-2", "CAP-3"):
        permit(product, plates=[plate])
    assert _event(gate, garage, "CAP-1")["action"] == "open"
    assert _event(gate, garage, "CAP-2")["action"] == "open"
    full = _event(gate, garage, "CAP-3")
    assert (full["action"], full["reason"]) == ("deny", "permit_capacity_full")
    _event(gate, garage, "CAP-1", "exit")
    assert _event(gate, garage, "CAP-3")["reason"] == "permit_entry"


def test_a_denied_entry_does_not_count_as_presence(gate, garage):
    product = permit_product(garage, allocated_spaces=1, oversell_percent=100)
    permit(product, plates=["ONE-1"])
    permit(product, plates=["TWO-2"])
    assert _event(gate, garage, "ONE-1")["action"] == "open"
    assert _event(gate, garage, "TWO-2")["reason"] == "permit_capacity_full"
    _event(gate, garage, "ONE-1", "exit")
    assert _event(gate, garage, "TWO-2")["action"] == "open"


def test_exit_of_an_unknown_plate_is_still_denied(gate, garage):
    body = _event(gate, garage, "GHOST-1", "exit")
    assert (body["action"], body["reason"]) == ("deny", "no_active_booking")
