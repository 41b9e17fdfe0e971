"""Who may see and do what: drivers, outsiders, devices, anonymous callers."""

from __future__ import annotations

import pytest

from bookings.models import Booking
from bookings.states import BookingStatus
from tests.factories import BookingFactory, VehicleFactory

pytestmark = pytest.mark.django_db

ACTIONS = ["confirm", "cancel", "check-in", "check-out", "extend"]


def test_another_drivers_booking_answers_exactly_like_a_missing_one(as_user, alice, bob, garage):
    bobs = BookingFactory(spot=garage.spots.first(), vehicle=VehicleFactory(owner=bob))
    client = as_user(alice)
    missing = client.get("/api/v1/bookings/00000000-0000-0000-0000-000000000000/")
    foreign = client.get(f"/api/v1/bookings/{bobs.public_id}/")
    assert foreign.status_code == missing.status_code == 404
    # Identical but for each request's own id.
    without_id = [{**r.json()["error"], "request_id": None} for r in (foreign, missing)]
    assert without_id[0] == without_id[1]
    for action in ACTIONS:
        r = client.post(f"/api/v1/bookings/{bobs.public_id}/{action}/", {}, format="json")
        assert r.status_code == 404, action
    bobs.refresh_from_db()
    assert bobs.status == BookingStatus.CONFIRMED
    assert client.get("/api/v1/bookings/").json()["count"] == 0


def test_a_driver_cannot_book_with_someone_elses_vehicle(as_user, alice, bob, garage):
    from tests.api.conftest import booking_body, tomorrow_at

    bobs_car = VehicleFactory(owner=bob)
    r = as_user(alice).post(
        "/api/v1/bookings/", booking_body(garage, bobs_car, tomorrow_at(9)), format="json"
    )
    assert r.status_code == 400
    assert "vehicle" in r.json()["error"]["fields"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/me/"),
        ("get", "/api/v1/vehicles/"),
        ("post", "/api/v1/vehicles/"),
        ("get", "/api/v1/bookings/"),
        ("post", "/api/v1/bookings/"),
        ("post", "/api/v1/operator/gate-events/"),
    ],
)
def test_anonymous_callers_get_401(api, method, path):
    r = getattr(api, method)(path, {}, format="json") if method == "post" else api.get(path)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_facility_search_and_detail_are_public(api, garage):
    assert api.get("/api/v1/facilities/").status_code == 200
    assert api.get(f"/api/v1/facilities/{garage.id}/").status_code == 200
