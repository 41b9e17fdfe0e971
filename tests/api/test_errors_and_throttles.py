"""One error format everywhere; throttles answer 429 with Retry-After."""

from __future__ import annotations

import pytest

from bookings.models import Booking
from tests.api.conftest import api_client_for, booking_body, tomorrow_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates():
    """Lower throttle rates for one test (DRF reloads its settings on the change)."""
    from django.conf import settings
    from django.test import override_settings

    overrides = []

    def set_rates(**new):
        framework = settings.REST_FRAMEWORK
        override = override_settings(
            REST_FRAMEWORK={
                **framework,
                "DEFAULT_THROTTLE_RATES": {**framework["DEFAULT_THROTTLE_RATES"], **new},
            }
        )
        override.enable()
        overrides.append(override)

    yield set_rates
    for override in reversed(overrides):
        override.disable()


def test_booking_burst_limit_gives_429_with_retry_after_and_spares_other_users(
    rates, alice, bob, garage
):
    from tests.factories import VehicleFactory

    rates(booking_burst="3/minute")
    client = api_client_for(alice)
    codes = []
    for n in range(4):
        v = VehicleFactory(owner=alice, plate=f"T{n}")
        codes.append(
            client.post(
                "/api/v1/bookings/", booking_body(garage, v, tomorrow_at(1 + n * 3)), format="json"
            ).status_code
        )
    assert codes[:3] == [201, 201, 201]
    assert codes[3] == 429
    r = client.post("/api/v1/bookings/", {}, format="json")
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "throttled"
    # Bob is unaffected, and Alice can still read.
    bobs = api_client_for(bob).post(
        "/api/v1/bookings/",
        booking_body(garage, VehicleFactory(owner=bob), tomorrow_at(20)),
        format="json",
    )
    assert bobs.status_code == 201
    assert client.get("/api/v1/bookings/").status_code == 200


def test_auth_endpoints_are_throttled_per_ip(rates, api):
    rates(auth="2/minute")
    body = {"email": "nobody@example.test", "password": "wrong"}
    codes = [api.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_anonymous_reads_are_throttled(rates, api):
    rates(anon="2/hour")
    codes = [api.get("/api/v1/facilities/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_error_body_shape_and_request_id(api):
    r = api.get("/api/v1/bookings/", HTTP_X_REQUEST_ID="trace-1")
    assert r.status_code == 401
    assert r["X-Request-ID"] == "trace-1"
    assert set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"code", "message", "fields", "request_id"}
    assert r.json()["error"]["request_id"] == "trace-1"


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_paths_answer_404_in_the_error_format_debug_or_not(api, settings, debug):
    settings.DEBUG = debug  # make run serves with DEBUG on, where Django's 404 is HTML
    for method in ("get", "post", "delete"):
        r = getattr(api, method)("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="lost-1")
        assert r.status_code == 404
        assert r["Content-Type"] == "application/json"
        assert r.json()["error"]["code"] == "not_found"
        assert r["X-Request-ID"] == "lost-1"


def test_an_api_path_without_its_slash_redirects_reads_and_names_the_path_for_writes(
    api, alice, alice_car, garage
):
    r = api.get("/api/v1/facilities?lat=60.17&lng=24.94")
    assert r.status_code == 301
    assert r["Location"] == "/api/v1/facilities/?lat=60.17&lng=24.94"
    before = Booking.objects.count()
    r = api_client_for(alice).post(
        "/api/v1/bookings", booking_body(garage, alice_car, tomorrow_at(9)), format="json"
    )
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Not found. Did you mean /api/v1/bookings/?"
    assert Booking.objects.count() == before


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/auth/register/",
        "/api/v1/auth/token/",
        "/api/v1/auth/token/refresh/",
        "/api/v1/me/",
        "/api/v1/vehicles/",
        "/api/v1/vehicles/{vehicle_id}/",
        "/api/v1/facilities/",
        "/api/v1/facilities/{facility_id}/",
        "/api/v1/facilities/{facility_id}/quote/",
        "/api/v1/bookings/",
        "/api/v1/bookings/{public_id}/",
        "/api/v1/bookings/{public_id}/confirm/",
        "/api/v1/bookings/{public_id}/cancel/",
        "/api/v1/bookings/{public_id}/extend/",
        "/api/v1/bookings/{public_id}/check-in/",
        "/api/v1/bookings/{public_id}/check-out/",
        "/api/v1/operator/gate-events/",
    ]:
        assert path in paths, path
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_spectacular_validates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
