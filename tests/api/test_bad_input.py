"""Hostile and careless input: always a 4xx in the error format, never a 500, no rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingEvent, Notification
from tests.api.conftest import api_client_for, booking_body, tomorrow_at

pytestmark = pytest.mark.django_db


def _cases(garage, car, foreign_car):
    start = tomorrow_at(9)
    ok = booking_body(garage, car, start)
    now = timezone.now()
    return {
        "naive starts_at": {**ok, "starts_at": "2030-01-01T10:00:00"},
        "naive ends_at": {**ok, "ends_at": start.replace(tzinfo=None).isoformat()},
        "end before start": {**ok, "ends_at": (start - timedelta(hours=1)).isoformat()},
        "end equals start": {**ok, "ends_at": start.isoformat()},
        "too short": {**ok, "ends_at": (start + timedelta(minutes=14)).isoformat()},
        "too long": {**ok, "ends_at": (start + timedelta(days=30, minutes=1)).isoformat()},
        "starts in the past": {
            **ok,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        "too far ahead": {
            **ok,
            "starts_at": (now + timedelta(days=91)).isoformat(),
            "ends_at": (now + timedelta(days=91, hours=2)).isoformat(),
        },
        "unknown facility": {**ok, "facility": 987654},
        "unknown vehicle": {**ok, "vehicle": 987654},
        "someone else's vehicle": {**ok, "vehicle": foreign_car.id},
        "facility as text": {**ok, "facility": "kamppi"},
        "vehicle as list": {**ok, "vehicle": [car.id]},
        "negative facility": {**ok, "facility": -1},
        "huge facility id": {**ok, "facility": 10**30},
        "date garbage": {**ok, "starts_at": "next tuesday"},
        "hold as text": {**ok, "hold": "maybe"},
        "unknown spot kind": {**ok, "spot_kind": "helipad"},
        "unknown field": {**ok, "valet": True},
        "missing fields": {"facility": garage.id},
        "empty object": {},
        "oversized string": {**ok, "spot_kind": "x" * 100_000},
    }


def test_bad_booking_bodies_are_refused_with_a_clear_4xx_and_nothing_written(
    alice, alice_car, bob, garage
):
    from tests.factories import VehicleFactory

    client = api_client_for(alice)
    cases = _cases(garage, alice_car, VehicleFactory(owner=bob))
    assert len(cases) >= 20
    failures = {}
    for name, body in cases.items():
        r = client.post("/api/v1/bookings/", body, format="json")
        error = (
            r.json().get("error", {}) if r["Content-Type"].startswith("application/json") else {}
        )
        if not (400 <= r.status_code < 500 and error.get("code") and error.get("message")):
            failures[name] = (r.status_code, r.content[:200])
    assert not failures, failures
    assert Booking.objects.count() == 0
    assert BookingEvent.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "code"),
    [
        (b'{"facility": 1,', "application/json", 400, "malformed_request"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed_request"),
        (b"[1, 2, 3]", "application/json", 400, "validation_error"),
        (b"null", "application/json", 400, "validation_error"),
        (
            b"facility=1&vehicle=2",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        (b"<booking/>", "application/xml", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies_and_wrong_content_types(alice, payload, content_type, status, code):
    r = api_client_for(alice).generic("POST", "/api/v1/bookings/", payload, content_type)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert Booking.objects.count() == 0


def test_overlong_idempotency_key_is_refused(alice, alice_car, garage):
    r = api_client_for(alice).post(
        "/api/v1/bookings/",
        booking_body(garage, alice_car, tomorrow_at(9)),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 256,
    )
    assert r.status_code == 400
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "north", "lng": 24.9},
        {"lat": 91, "lng": 24.9},
        {"lat": 60.1, "lng": 181},
        {"lat": 60.1},
        {"lat": 60.1, "lng": 24.9, "radius_km": -1},
        {"lat": 60.1, "lng": 24.9, "radius_km": "nan"},
        {"lat": "inf", "lng": 24.9},
        {"starts_at": "2030-01-01T10:00:00+00:00"},
        {"starts_at": "2030-01-01T10:00:00", "ends_at": "2030-01-01T11:00:00"},
        {"starts_at": "2030-01-01T12:00:00Z", "ends_at": "2030-01-01T11:00:00Z"},
        {"kind": "helipad"},
    ],
)
def test_bad_search_parameters_are_400(api, params):
    r = api.get("/api/v1/facilities/", params)
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "validation_error"


def test_unknown_urls_and_methods_answer_in_the_error_format(api, alice):
    r = api.get("/api/v1/nowhere/")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "X-Request-ID" in r
    r = api.get("/api/v1/bookings/not-a-uuid/")
    assert r.status_code == 404
    r = api_client_for(alice).put("/api/v1/bookings/", {}, format="json")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_bad_extend_bodies(alice, alice_car, garage):
    from tests.factories import BookingFactory

    booking = BookingFactory(spot=garage.spots.first(), vehicle=alice_car)
    client = api_client_for(alice)
    url = f"/api/v1/bookings/{booking.public_id}/extend/"
    for body in (
        {},
        {"ends_at": "tomorrow"},
        {"ends_at": booking.starts_at.isoformat()},
        {"ends_at": (booking.ends_at + timedelta(hours=1)).replace(tzinfo=None).isoformat()},
        {"ends_at": (booking.starts_at + timedelta(days=31)).isoformat()},
    ):
        r = client.post(url, body, format="json")
        assert r.status_code == 400, body
    booking.refresh_from_db()
    assert booking.ends_at - booking.starts_at == timedelta(hours=2)
