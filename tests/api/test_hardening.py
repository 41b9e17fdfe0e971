"""Regression tests for what an outside attack on the API found (tokens, bodies, cache,
device accounts, the dev signing key)."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from bookings.models import Booking
from parkme import devservices
from parkme.models import User
from parkme.tasks import flush_expired_tokens
from tests import factories
from tests.api.conftest import api_client_for, tomorrow_at
from vehicles.models import Vehicle

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _tokens(api, user) -> dict:
    r = api.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
    assert r.status_code == 200, r.content
    return r.json()


# --- 1. refresh tokens work once; logout revokes ------------------------------------------


def test_a_rotated_refresh_token_cannot_be_used_again(api, alice):
    tokens = _tokens(api, alice)
    first = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200
    replay = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "authentication_failed"
    # The new refresh token from the rotation works (once).
    fresh = api.post(
        "/api/v1/auth/token/refresh/", {"refresh": first.json()["refresh"]}, format="json"
    )
    assert fresh.status_code == 200


def test_logout_revokes_the_refresh_token(api, alice):
    tokens = _tokens(api, alice)
    out = api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert out.status_code == 204
    after = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert after.status_code == 401
    again = api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401  # nothing new was revoked
    bad = api.post("/api/v1/auth/logout/", {"refresh": "not-a-token"}, format="json")
    assert bad.status_code == 401
    missing = api.post("/api/v1/auth/logout/", {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"]["refresh"]


def test_expired_refresh_tokens_are_flushed_and_live_ones_kept(api, alice):
    tokens = _tokens(api, alice)
    api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    _tokens(api, alice)  # a second, live session
    OutstandingToken.objects.filter(token=tokens["refresh"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert flush_expired_tokens() >= 1
    assert not OutstandingToken.objects.filter(token=tokens["refresh"]).exists()
    assert OutstandingToken.objects.filter(user=alice).count() == 1


# --- 2. deeply nested JSON is a 400, never a 500 -------------------------------------------

DEEP = "[" * 2000 + "]" * 2000
DEEPISH = '{"plate": ' + "[" * 40 + "1" + "]" * 40 + "}"  # parses, but too deep to accept


@pytest.mark.parametrize(
    ("method", "path", "authenticated"),
    [
        ("post", "/api/v1/auth/register/", False),
        ("post", "/api/v1/auth/token/", False),
        ("post", "/api/v1/auth/token/refresh/", False),
        ("post", "/api/v1/auth/logout/", False),
        ("post", "/api/v1/vehicles/", True),
        ("post", "/api/v1/bookings/", True),
        ("post", "/api/v1/operator/gate-events/", True),
    ],
)
@pytest.mark.parametrize("body", [DEEP, DEEPISH], ids=["2000-deep", "41-deep"])
def test_deeply_nested_json_is_a_validation_error(alice, method, path, authenticated, body):
    client = api_client_for(alice if authenticated else None)
    users, vehicles = User.objects.count(), Vehicle.objects.count()
    r = getattr(client, method)(path, data=body, content_type="application/json")
    assert r.status_code == 400, r.content[:200]
    assert r.json()["error"]["code"] == "validation_error"
    assert (User.objects.count(), Vehicle.objects.count()) == (users, vehicles)


def test_patching_a_vehicle_with_deep_json_changes_nothing(alice):
    car = factories.VehicleFactory(owner=alice, plate="ALC-111")
    r = api_client_for(alice).patch(
        f"/api/v1/vehicles/{car.pk}/", data=DEEP, content_type="application/json"
    )
    assert r.status_code == 400
    car.refresh_from_db()
    assert car.plate == "ALC-111"


# --- 4. a cached page never carries another caller's Host ------------------------------------


def test_cached_search_pages_do_not_leak_a_forged_host(api, garage):
    factories.FacilityFactory(name="Second", slug="second")
    forged = api.get("/api/v1/facilities/?page_size=1", HTTP_HOST="localhost:9999")
    assert forged.status_code == 200
    assert forged.json()["next"].startswith("http://localhost:9999/")
    plain = api.get("/api/v1/facilities/?page_size=1")
    assert plain.status_code == 200
    assert "9999" not in plain.content.decode()
    assert plain.json()["next"].startswith("http://testserver/")
    # Each origin still gets its own cache hits.
    assert api.get("/api/v1/facilities/?page_size=1")["X-Cache"] == "HIT"


# --- 6. gate devices are refused on every driver endpoint --------------------------------------


def test_a_gate_device_gets_403_on_driver_endpoints_and_still_opens_gates(garage, device_of):
    device = device_of(garage.operator)
    client = api_client_for(device)
    starts = tomorrow_at(9)
    driver_calls = [
        ("get", "/api/v1/vehicles/", None),
        ("post", "/api/v1/vehicles/", {"plate": "GATE-1"}),
        ("get", "/api/v1/bookings/", None),
        (
            "post",
            "/api/v1/bookings/",
            {
                "facility": garage.pk,
                "vehicle": 1,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
            },
        ),
        ("get", "/api/v1/bookings/00000000-0000-0000-0000-000000000000/", None),
        ("post", "/api/v1/bookings/00000000-0000-0000-0000-000000000000/cancel/", {}),
    ]
    for method, path, body in driver_calls:
        r = getattr(client, method)(path, body, format="json")
        assert r.status_code == 403, (path, r.status_code)
        assert r.json()["error"]["code"] == "permission_denied"
    assert not Vehicle.objects.filter(owner=device).exists()
    assert not Booking.objects.exists()
    # Public reads, who-am-I and the gate itself stay open to the device.
    assert client.get("/api/v1/facilities/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    gate = client.post(
        "/api/v1/operator/gate-events/",
        {"facility": garage.pk, "plate": "NOPE-1", "direction": "entry"},
        format="json",
    )
    assert gate.status_code == 200
    assert gate.json()["action"] == "deny"


def test_staff_who_also_drive_keep_the_driver_endpoints(garage, device_of):
    from parkme.models import Role
    from parkme.services import membership_set

    attendant = factories.UserFactory()
    membership_set(user=attendant, operator=garage.operator, role=Role.ATTENDANT)
    assert api_client_for(attendant).get("/api/v1/vehicles/").status_code == 200


# --- 9. the dev signing key is this checkout's own ---------------------------------------------

OLD_PUBLIC_KEY = "dev-only-insecure-key-never-use-in-production"


def test_a_token_forged_with_the_old_public_key_is_refused(api, alice):
    now = timezone.now()
    forged = jwt.encode(
        {
            "token_type": "access",
            "user_id": str(alice.pk),
            "jti": "forged",
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "iat": int(now.timestamp()),
        },
        OLD_PUBLIC_KEY,
        algorithm="HS256",
    )
    r = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert r.status_code == 401


def test_the_dev_key_is_random_private_and_kept_out_of_the_repository():
    assert settings.SECRET_KEY != OLD_PUBLIC_KEY
    if os.environ.get("SECRET_KEY"):
        pytest.skip("SECRET_KEY comes from the environment in this run")
    key_file = devservices.SECRET_KEY_FILE
    assert key_file.read_text().strip() == settings.SECRET_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(settings.SECRET_KEY) >= 50
    ignored = (devservices.BASE_DIR / ".gitignore").read_text()
    assert ".local" in ignored
