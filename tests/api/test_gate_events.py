"""Gate devices open the barrier for the right plate at the right time, and only theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, GateEvent
from bookings.states import BookingStatus
from parkme.models import Role
from parkme.services import membership_set
from tests.api.conftest import api_client_for
from tests.factories import BookingFactory, UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/operator/gate-events/"


@pytest.fixture
def gate(garage, device_of):
    return api_client_for(device_of(garage.operator))


def _event(client, facility, plate, direction):
    return client.post(
        URL, {"facility": facility.id, "plate": plate, "direction": direction}, format="json"
    )


def _booking_now(garage, plate="ABC-123", **kw):
    now = timezone.now()
    defaults = {"starts_at": now + timedelta(minutes=5), "ends_at": now + timedelta(hours=2)}
    return BookingFactory(
        spot=garage.spots.first(), vehicle=VehicleFactory(plate=plate), **{**defaults, **kw}
    )


def test_entry_with_a_booking_in_its_window_checks_in_and_opens(gate, garage):
    booking = _booking_now(garage, plate="ABC-123")
    r = _event(gate, garage, "abc 123", "entry")  # plates match normalised
    assert r.status_code == 200
    assert r.json()["action"] == "open"
    assert r.json()["reason"] == "checked_in"
    assert r.json()["booking"]["reference"] == booking.reference
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.events.filter(to_status=BookingStatus.ACTIVE, actor_kind="device").exists()
    assert GateEvent.objects.get().action == "open"


def test_exit_checks_out_with_overstay_fee(gate, garage):
    now = timezone.now()
    booking = _booking_now(
        garage, starts_at=now - timedelta(hours=4), ends_at=now - timedelta(hours=1, minutes=30)
    )
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.ACTIVE)
    r = _event(gate, garage, "ABC123", "exit")
    assert r.json()["action"] == "open"
    assert r.json()["reason"] == "checked_out"
    assert r.json()["booking"]["overstay_fee"] == "6.00"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED


@pytest.mark.parametrize(
    ("setup", "direction", "reason"),
    [
        ("none", "entry", "no_booking"),
        ("too_early", "entry", "too_early"),
        (BookingStatus.HELD, "entry", "not_confirmed"),
        (BookingStatus.ACTIVE, "entry", "already_inside"),
        ("none", "exit", "no_active_booking"),
        (BookingStatus.CONFIRMED, "exit", "no_active_booking"),
    ],
)
def test_anything_else_is_denied_with_a_reason(gate, garage, setup, direction, reason):
    now = timezone.now()
    if setup == "too_early":
        _booking_now(garage, starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3))
    elif setup == BookingStatus.HELD:
        _booking_now(garage, status=BookingStatus.HELD)
    elif setup in (BookingStatus.ACTIVE, BookingStatus.CONFIRMED):
        b = _booking_now(garage)
        Booking.objects.filter(pk=b.pk).update(status=setup)
    before = list(Booking.objects.values_list("status", flat=True))
    r = _event(gate, garage, "ABC-123", direction)
    assert r.status_code == 200
    assert r.json()["action"] == "deny"
    assert r.json()["reason"] == reason
    assert list(Booking.objects.values_list("status", flat=True)) == before
    assert GateEvent.objects.get().reason == reason


def test_a_booking_at_another_facility_does_not_open_this_gate(gate, garage):
    from tests.factories import FacilityFactory, SpotFactory, ZoneFactory

    other = FacilityFactory(operator=garage.operator)
    spot = SpotFactory(zone=ZoneFactory(facility=other))
    now = timezone.now()
    BookingFactory(
        spot=spot,
        vehicle=VehicleFactory(plate="ABC-123"),
        starts_at=now + timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    assert _event(gate, garage, "ABC-123", "entry").json()["reason"] == "no_booking"


def test_only_devices_of_the_facilitys_operator_may_report(garage, facility_b, alice):
    from tests.factories import OperatorFactory

    booking = _booking_now(garage)
    other_device = UserFactory()
    membership_set(user=other_device, operator=OperatorFactory(), role=Role.DEVICE)
    attendant = UserFactory()
    membership_set(user=attendant, operator=garage.operator, role=Role.ATTENDANT)
    ops = UserFactory(is_superuser=True, is_staff=True)  # sees every operator, opens no gate
    for user in (other_device, attendant, alice, ops):
        r = _event(api_client_for(user), garage, "ABC-123", "entry")
        assert r.status_code == 403, user
        assert r.json()["error"]["code"] == "permission_denied"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert not GateEvent.objects.exists()


def test_device_of_operator_a_against_operator_b_facility_is_403(gate, facility_b):
    r = _event(gate, facility_b, "ABC-123", "entry")
    assert r.status_code == 403
    unknown = gate.post(
        URL, {"facility": 999999, "plate": "X", "direction": "entry"}, format="json"
    )
    assert unknown.status_code == 403  # unknown ids reveal nothing either


@pytest.mark.parametrize(
    "body",
    [
        {"plate": "ABC", "direction": "entry"},
        {"facility": 1, "plate": "ABC", "direction": "sideways"},
        {"facility": 1, "plate": "A" * 50, "direction": "entry"},
        {"facility": "one", "plate": "ABC", "direction": "entry"},
    ],
)
def test_bad_gate_bodies_are_400(gate, body):
    r = gate.post(URL, body, format="json")
    assert r.status_code == 400
    assert not GateEvent.objects.exists()
