"""The entitlement check an enforcement handheld calls: who may ask, what it answers, and
that every check is on record."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bookings.models import Booking
from bookings.states import BookingStatus, PermitStatus
from parkme.models import Role
from parkme.services import membership_set
from tests.api.conftest import api_client_for
from tests.factories import (
    WORKDAYS,
    BookingFactory,
    FacilityFactory,
    OperatorFactory,
    UserFactory,
    VehicleFactory,
    permit,
    permit_product,
)
from vehicles.models import PlateLookup

pytestmark = pytest.mark.django_db

URL = "/api/v1/operator/entitlements/"
HELSINKI = ZoneInfo("Europe/Helsinki")


def _staff(operator, role):
    user = UserFactory()
    membership_set(user=user, operator=operator, role=role)
    return user


def _ask(client, facility, plate, at=None):
    params = {"facility": facility.id, "plate": plate}
    if at is not None:
        params["at"] = at.isoformat()
    return client.get(URL, params)


# --- who may ask --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ATTENDANT, Role.DEVICE])
def test_staff_and_devices_of_the_operator_may_check(garage, role):
    permit(permit_product(garage), plates=["OK-1"])
    r = _ask(api_client_for(_staff(garage.operator, role)), garage, "ok 1")
    assert r.status_code == 200
    assert r.json()["allowed"] is True


def test_another_operator_a_driver_and_an_unknown_facility_get_the_same_403(garage, alice):
    outsider = _staff(OperatorFactory(), Role.ADMIN)
    for user, facility_id in ((outsider, garage.id), (alice, garage.id), (outsider, 999_999)):
        r = api_client_for(user).get(URL, {"facility": facility_id, "plate": "ABC1"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "permission_denied"
    assert not PlateLookup.objects.exists()  # refused checks looked nothing up


def test_anonymous_is_401(api, garage):
    assert api.get(URL, {"facility": garage.id, "plate": "ABC1"}).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"plate": "ABC1"},
        {"facility": "x", "plate": "ABC1"},
        {"facility": 1, "plate": ""},
        {"facility": 1, "plate": "A" * 21},
        {"facility": 1, "plate": "ABC1", "at": "2026-05-01T09:00:00"},  # naive
        {"facility": 1, "plate": "ABC1", "at": "yesterday"},
    ],
)
def test_bad_parameters_are_400_and_nothing_is_recorded(garage, params):
    client = api_client_for(_staff(garage.operator, Role.ATTENDANT))
    r = client.get(URL, params)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error"
    assert not PlateLookup.objects.exists()


# --- what it answers ----------------------------------------------------------------------


def test_every_check_is_recorded_as_a_plate_look_up_for_the_operator(garage):
    staff = _staff(garage.operator, Role.DEVICE)
    client = api_client_for(staff)
    _ask(client, garage, "LOOK-1")
    _ask(client, garage, "LOOK-2")
    lookups = list(PlateLookup.objects.order_by("id").values_list("staff", "operator", "query"))
    assert lookups == [
        (staff.id, garage.operator_id, "LOOK-1"),
        (staff.id, garage.operator_id, "LOOK-2"),
    ]


def test_a_booking_covers_its_window_then_the_grace(garage):
    client = api_client_for(_staff(garage.operator, Role.ATTENDANT))
    now = timezone.now()
    booking = BookingFactory(
        spot=garage.spots.first(),
        vehicle=VehicleFactory(plate="BOOK-1"),
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(minutes=10),
    )
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.ACTIVE)
    body = _ask(client, garage, "BOOK-1").json()
    assert body["allowed"] is True
    assert (body["reason"], body["grace_applied"], body["grace_minutes"]) == (
        "booking_grace",
        True,
        15,
    )
    assert body["entitlement"]["type"] == "booking"
    assert body["entitlement"]["reference"] == booking.reference
    assert datetime.fromisoformat(body["entitlement"]["valid_until"]) == booking.ends_at
    later = _ask(client, garage, "BOOK-1", now + timedelta(minutes=10)).json()
    assert (later["allowed"], later["reason"]) == (False, "booking_ended")
    early = _ask(client, garage, "BOOK-1", now - timedelta(hours=3)).json()
    assert (early["allowed"], early["reason"]) == (False, "booking_not_started")


def test_a_commuter_permit_inside_its_hours_and_just_after(garage):
    client = api_client_for(_staff(garage.operator, Role.DEVICE))
    product = permit_product(garage, hours=((WORKDAYS, "06:00", "20:00"),))
    pass_ = permit(product, plates=["COMM-9"], valid_from=datetime(2026, 11, 2).date())
    monday_morning = datetime(2026, 11, 9, 9, 30, tzinfo=HELSINKI)
    body = _ask(client, garage, "comm9", monday_morning).json()
    assert (body["allowed"], body["reason"], body["grace_applied"]) == (True, "permit", False)
    assert body["entitlement"] == {
        "type": "permit",
        "reference": pass_.reference,
        "status": "active",
        "valid_until": "2026-11-09T20:00:00+02:00",
    }
    assert body["at"] == "2026-11-09T09:30:00+02:00"
    just_after = _ask(client, garage, "COMM-9", monday_morning.replace(hour=20, minute=10))
    assert (just_after.json()["reason"], just_after.json()["grace_applied"]) == (
        "permit_grace",
        True,
    )
    evening = _ask(client, garage, "COMM-9", monday_morning.replace(hour=21)).json()
    assert (evening["allowed"], evening["reason"]) == (False, "permit_outside_hours")
    assert evening["entitlement"]["valid_until"] is None


def test_a_suspended_permit_is_not_allowed(garage):
    client = api_client_for(_staff(garage.operator, Role.ATTENDANT))
    pass_ = permit(permit_product(garage), plates=["SUS-9"])
    pass_.status = PermitStatus.SUSPENDED
    pass_.save()
    body = _ask(client, garage, "SUS-9").json()
    assert (body["allowed"], body["reason"]) == (False, "permit_suspended")


def test_a_permit_elsewhere_or_nothing_at_all_is_no_entitlement(garage):
    client = api_client_for(_staff(garage.operator, Role.ADMIN))
    permit(permit_product(FacilityFactory(operator=garage.operator)), plates=["AWAY-1"])
    body = _ask(client, garage, "AWAY-1").json()
    assert body == {
        "allowed": False,
        "reason": "no_entitlement",
        "plate": "AWAY1",
        "at": body["at"],
        "entitlement": None,
        "grace_minutes": 15,
        "grace_applied": False,
    }


def test_a_check_costs_a_fixed_number_of_queries(garage, django_assert_max_num_queries):
    client = api_client_for(_staff(garage.operator, Role.DEVICE))
    product = permit_product(garage, hours=((WORKDAYS, "06:00", "20:00"),))
    permit(product, plates=["Q-1", "Q-2", "Q-3"])
    with django_assert_max_num_queries(12):
        assert _ask(client, garage, "Q-2").status_code == 200
