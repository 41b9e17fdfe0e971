from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from parkme.models import Role
from parkme.services import membership_set
from tests import factories


def api_client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api():
    """Anonymous client."""
    return APIClient()


@pytest.fixture
def as_user():
    return api_client_for


@pytest.fixture
def garage(db):
    """A facility in Helsinki with one zone: 3 standard spots, 1 EV, 1 motorcycle."""
    facility = factories.FacilityFactory(
        name="Kamppi", slug="kamppi", latitude=60.1690, longitude=24.9320
    )
    factories.RateVersionFactory(
        facility=facility, hourly_rate="3.00", daily_max="20.00", grace_minutes=15
    )
    zone = factories.ZoneFactory(facility=facility, name="P1", level=-1)
    for code in ("S1", "S2", "S3"):
        factories.SpotFactory(zone=zone, code=code, kind="standard")
    factories.SpotFactory(zone=zone, code="E1", kind="ev")
    factories.SpotFactory(zone=zone, code="M1", kind="motorcycle")
    return facility


@pytest.fixture
def alice_car(alice):
    return factories.VehicleFactory(owner=alice, plate="ALC-111")


@pytest.fixture
def bob_car(bob):
    return factories.VehicleFactory(owner=bob, plate="BOB-222")


@pytest.fixture
def device_of(db):
    def make(operator, email="gate@example.test"):
        user = factories.UserFactory(email=email)
        membership_set(user=user, operator=operator, role=Role.DEVICE)
        return user

    return make


def tomorrow_at(hour: int, minute: int = 0):
    """Tomorrow at HH:MM UTC, as an aware datetime."""
    base = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    return base.replace(hour=hour, minute=minute)


def booking_body(facility, vehicle, starts_at, hours=2, **extra):
    return {
        "facility": facility.id,
        "vehicle": vehicle.id,
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
        **extra,
    }
