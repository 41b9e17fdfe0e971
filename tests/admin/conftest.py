"""Personas and a two-operator world for the staff admin tests.

Operator A and operator B each have a facility with a zone, spots, a rate plan, a booking
(with its event and notification), a plate look-up and memberships. Personas:
admin_a / attendant_a / device_a (staff of A), admin_b (staff of B), alice (a driver),
bob (an outsider: a driver with no membership anywhere), ops (superuser).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from bookings.models import Booking, BookingEvent, Notification, NotificationKind
from bookings.states import BookingStatus
from facilities.models import Facility, RateVersion, Spot, Zone
from parkme.models import Membership, Operator, Role, User
from parkme.services import ROLE_GROUPS, membership_set
from tests import factories
from vehicles.models import PlateLookup

# The data migrations that build the staff groups and their permissions, in order.
GROUP_MIGRATIONS = (
    ("parkme", "0002_staff_groups", "install_groups"),
    ("facilities", "0006_rate_table_permissions", "grant"),
    ("bookings", "0007_permit_permissions", "grant"),
    ("parkme.webhooks", "0002_webhook_permissions", "grant"),
)


def ensure_staff_groups() -> None:
    """Transactional tests flush the database, data migrations included: put the staff
    groups and their permissions back, built by those very migrations' code."""
    if Group.objects.filter(name__in=ROLE_GROUPS.values()).count() == len(ROLE_GROUPS):
        return
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    for app, name, function in GROUP_MIGRATIONS:
        migration = importlib.import_module(f"{app}.migrations.{name}")
        label = app.rsplit(".", 1)[-1]  # the app label: "parkme.webhooks" → "webhooks"
        getattr(migration, function)(loader.project_state((label, name)).apps, None)


@pytest.fixture(autouse=True)
def _staff_groups(request):
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    else:
        return
    ensure_staff_groups()


@dataclass
class Tenant:
    operator: Operator
    facility: Facility
    zone: Zone
    spot: Spot
    rate_version: RateVersion
    booking: Booking
    event: BookingEvent
    notification: Notification
    lookup: PlateLookup
    membership: Membership


def build_tenant(operator: Operator, facility: Facility, *, tag: str, driver: User) -> Tenant:
    zone = factories.ZoneFactory(facility=facility, name=f"Zone-{tag}", level=-1)
    spot = factories.SpotFactory(zone=zone, code=f"SPOT-{tag}1")
    factories.SpotFactory(zone=zone, code=f"SPOT-{tag}2")
    vehicle = factories.VehicleFactory(owner=driver, plate=f"{tag}AA-{len(tag)}11")
    booking = factories.BookingFactory(spot=spot, vehicle=vehicle, driver=driver)
    event = BookingEvent.objects.create(
        booking=booking,
        from_status="",
        to_status=BookingStatus.CONFIRMED,
        actor=driver,
        at=timezone.now(),
    )
    notification = Notification.objects.create(booking=booking, kind=NotificationKind.CONFIRMED)
    member = factories.UserFactory(email=f"member-{tag.lower()}@example.test")
    membership = membership_set(user=member, operator=operator, role=Role.ATTENDANT)
    lookup = PlateLookup.objects.create(
        staff=member, operator=operator, query=f"{tag}-LOOKUP", context="test"
    )
    return Tenant(
        operator=operator,
        facility=facility,
        zone=zone,
        spot=spot,
        rate_version=facility.rate_versions.get(),
        booking=booking,
        event=event,
        notification=notification,
        lookup=lookup,
        membership=membership,
    )


@dataclass
class World:
    a: Tenant
    b: Tenant


@pytest.fixture
def world(facility_a, facility_b, alice) -> World:
    return World(
        a=build_tenant(facility_a.operator, facility_a, tag="A", driver=alice),
        b=build_tenant(facility_b.operator, facility_b, tag="B", driver=alice),
    )


def staff(email: str, operator: Operator, role: str) -> User:
    user = factories.UserFactory(email=email)
    membership_set(user=user, operator=operator, role=role)
    user.refresh_from_db()
    return user


@pytest.fixture
def admin_a(operator_a) -> User:
    return staff("admin@a.test", operator_a, Role.ADMIN)


@pytest.fixture
def attendant_a(operator_a) -> User:
    return staff("attendant@a.test", operator_a, Role.ATTENDANT)


@pytest.fixture
def device_a(operator_a) -> User:
    return staff("gate@a.test", operator_a, Role.DEVICE)


@pytest.fixture
def admin_b(operator_b) -> User:
    return staff("admin@b.test", operator_b, Role.ADMIN)


@pytest.fixture
def ops(db) -> User:
    return User.objects.create_superuser(email="ops@example.test", password=factories.PASSWORD)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def as_user():
    return client_for


def bookings_at(facility: Facility, count: int, *, starts_at=None) -> list[Booking]:
    """`count` confirmed bookings, each on its own spot and with its own driver."""
    zone = facility.zones.first() or factories.ZoneFactory(facility=facility)
    starts_at = starts_at or timezone.now() + timedelta(minutes=5)
    result = []
    for n in range(count):
        spot = factories.SpotFactory(zone=zone, code=f"BULK{n:04d}")
        result.append(
            factories.BookingFactory(
                spot=spot, starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)
            )
        )
    return result
