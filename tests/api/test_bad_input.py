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


# --- strict types: a value of the wrong JSON type is refused, never coerced ---------------


@pytest.mark.parametrize("is_ev", [0, 1, "true", "false", "yes", None, [True]])
def test_is_ev_takes_only_json_booleans(alice, is_ev):
    from vehicles.models import Vehicle

    client = api_client_for(alice)
    r = client.post("/api/v1/vehicles/", {"plate": "EV-1", "is_ev": is_ev}, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "validation_error"
    assert list(r.json()["error"]["fields"]) == ["is_ev"]
    assert not Vehicle.objects.exists()


def test_patching_is_ev_with_a_number_changes_nothing(alice, alice_car):
    r = api_client_for(alice).patch(
        f"/api/v1/vehicles/{alice_car.id}/", {"is_ev": 1}, format="json"
    )
    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == ["is_ev"]
    alice_car.refresh_from_db()
    assert alice_car.is_ev is False


@pytest.mark.parametrize("plate", [0, 123456, 1.5, True, ["ABC-123"], {"plate": "ABC"}])
def test_a_plate_must_be_a_json_string(alice, garage, device_of, plate):
    from bookings.models import GateEvent
    from vehicles.models import Vehicle

    r = api_client_for(alice).post("/api/v1/vehicles/", {"plate": plate}, format="json")
    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == ["plate"]
    gate = api_client_for(device_of(garage.operator))
    r = gate.post(
        "/api/v1/operator/gate-events/",
        {"facility": garage.id, "plate": plate, "direction": "entry"},
        format="json",
    )
    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == ["plate"]
    assert not Vehicle.objects.exists()
    assert not GateEvent.objects.exists()


def test_a_plate_counts_every_character_sent(alice):
    """At most 20 characters as typed (the schema's maxLength), spaces included."""
    from vehicles.models import Vehicle

    client = api_client_for(alice)
    r = client.post("/api/v1/vehicles/", {"plate": "   ABC-123-DEF-45   "}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["plate"] == "ABC-123-DEF-45"
    r = client.post("/api/v1/vehicles/", {"plate": "   ABC-123-DEF-456   "}, format="json")
    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == ["plate"]
    assert Vehicle.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "wrong"),
    [
        ("facility", str),  # "12"
        ("facility", float),  # 12.0
        ("facility", lambda _: True),
        ("vehicle", str),
        ("hold", lambda _: 0),
        ("hold", lambda _: "false"),
    ],
)
def test_booking_ids_and_hold_take_only_their_json_type(alice, alice_car, garage, field, wrong):
    body = booking_body(garage, alice_car, tomorrow_at(9), hold=False)
    body[field] = wrong(body[field])
    r = api_client_for(alice).post("/api/v1/bookings/", body, format="json")
    assert r.status_code == 400, r.content
    assert list(r.json()["error"]["fields"]) == [field]
    assert Booking.objects.count() == 0


# --- empty query parameters are values, and refused -------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "starts_at=",
        "starts_at=&ends_at=",
        "ends_at=",
        "lat=&lng=",
        "radius_km=",
        "kind=",
        "page=",
        "page_size=",
    ],
)
def test_an_empty_search_parameter_is_refused_not_ignored(api, garage, query):
    r = api.get(f"/api/v1/facilities/?{query}")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "validation_error"
    assert set(r.json()["error"]["fields"]) <= {"starts_at", "ends_at", "lat", "lng"} | {
        query.split("=")[0]
    }


@pytest.mark.parametrize("query", ["starts_at=", "starts_at=&ends_at=", "ends_at="])
def test_an_empty_window_on_detail_and_quote_is_refused(api, garage, query):
    for path in (f"/api/v1/facilities/{garage.id}/", f"/api/v1/facilities/{garage.id}/quote/"):
        r = api.get(f"{path}?{query}")
        assert r.status_code == 400, (path, r.content)
        assert r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "query", ["date_to=", "date_from=", "status=", "page=", "page_size=", "page_size=101"]
)
def test_an_empty_or_out_of_range_bookings_filter_is_refused(alice, query):
    r = api_client_for(alice).get(f"/api/v1/bookings/?{query}")
    assert r.status_code == 400, r.content
    assert list(r.json()["error"]["fields"]) == [query.split("=")[0]]


@pytest.mark.parametrize("query", ["page=", "page=0", "page=x", "page_size=", "page_size=0"])
def test_vehicle_list_paging_is_checked_not_clamped(alice, alice_car, query):
    r = api_client_for(alice).get(f"/api/v1/vehicles/?{query}")
    assert r.status_code == 400, r.content
    assert list(r.json()["error"]["fields"]) == [query.split("=")[0]]


def test_vehicle_list_page_size_over_the_limit_is_refused(alice, alice_car):
    client = api_client_for(alice)
    assert client.get("/api/v1/vehicles/?page_size=100").status_code == 200
    r = client.get("/api/v1/vehicles/?page_size=101")
    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == ["page_size"]


# --- bodies that are not objects --------------------------------------------------------


@pytest.mark.parametrize("payload", [b"[]", b"null", b"0", b'""', b"false", b"[1]"])
def test_a_transition_body_that_is_not_an_object_is_refused(alice, alice_car, garage, payload):
    from tests.factories import BookingFactory

    booking = BookingFactory(spot=garage.spots.first(), vehicle=alice_car)
    status_before = booking.status
    client = api_client_for(alice)
    for action in ("cancel", "confirm", "check-in", "check-out"):
        r = client.generic(
            "POST",
            f"/api/v1/bookings/{booking.public_id}/{action}/",
            payload,
            "application/json",
        )
        assert r.status_code == 400, (action, payload, r.content)
        assert r.json()["error"]["code"] == "validation_error"
    booking.refresh_from_db()
    assert booking.status == status_before


def test_a_transition_without_a_body_still_works(alice, alice_car, garage):
    from tests.factories import BookingFactory

    booking = BookingFactory(spot=garage.spots.first(), vehicle=alice_car)
    r = api_client_for(alice).post(f"/api/v1/bookings/{booking.public_id}/cancel/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"


def test_a_blank_looking_token_is_a_wrong_token_not_a_blank_field(api):
    """Tokens and credentials are taken as sent: whitespace is a bad token (401), as the
    schema (minLength 1) says, not a blank field (400)."""
    for path, body in [
        ("/api/v1/auth/token/refresh/", {"refresh": " "}),
        ("/api/v1/auth/logout/", {"refresh": "\t"}),
        ("/api/v1/auth/token/", {"email": " ", "password": " "}),
    ]:
        r = api.post(path, body, format="json")
        assert r.status_code == 401, (path, r.content)
        assert r.json()["error"]["code"] == "authentication_failed"
