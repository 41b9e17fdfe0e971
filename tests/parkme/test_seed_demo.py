import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from bookings.models import (
    Booking,
    Notification,
    NotificationKind,
    Permit,
    PermitEvent,
    PermitHours,
    PermitProduct,
)
from bookings.permits import permit_is_valid_at
from facilities.models import Facility, RateVersion, Spot, Zone
from parkme.models import Membership, Operator, User
from vehicles.models import Vehicle

pytestmark = pytest.mark.django_db

MODELS = [
    Operator,
    User,
    Membership,
    Facility,
    Zone,
    Spot,
    RateVersion,
    Vehicle,
    Booking,
    PermitProduct,
    PermitHours,
    Permit,
    PermitEvent,
    Notification,
]


def _snapshot():
    return {m.__name__: sorted(m.objects.values_list("pk", flat=True)) for m in MODELS}


def test_seed_demo_twice_leaves_the_same_rows(capsys):
    call_command("seed_demo")
    first = _snapshot()
    call_command("seed_demo")
    assert _snapshot() == first
    assert first["Permit"]  # the permits are part of what a re-run must not duplicate
    assert "driver@parkme.demo" in capsys.readouterr().out


def test_seed_demo_creates_the_contract_logins_and_facilities():
    call_command("seed_demo")
    central = Operator.objects.get(name="Demo Central Parking")
    harbor = Operator.objects.get(name="Demo Harbor Garages")
    assert Facility.objects.filter(operator=central).count() == 2
    assert Facility.objects.filter(operator=harbor).count() == 2
    assert set(Spot.objects.values_list("kind", flat=True)) == {
        "standard",
        "compact",
        "ev",
        "accessible",
        "motorcycle",
    }
    assert 200 <= Spot.objects.count() <= 1000
    # Each facility: the board in force and the next one, scheduled.
    assert RateVersion.objects.count() == 8
    for facility in Facility.objects.all():
        assert 60.1 < facility.latitude < 60.25
        assert 24.8 < facility.longitude < 25.1
    roles = {
        (m.user.email, m.operator.name, m.role)
        for m in Membership.objects.select_related("user", "operator")
    }
    assert roles == {
        ("admin@central.demo", "Demo Central Parking", "admin"),
        ("attendant@central.demo", "Demo Central Parking", "attendant"),
        ("gate@central.demo", "Demo Central Parking", "device"),
        ("admin@harbor.demo", "Demo Harbor Garages", "admin"),
    }
    ops = User.objects.get(email="ops@parkme.demo")
    assert ops.is_superuser
    assert ops.check_password("parkme-demo")
    driver = User.objects.get(email="driver@parkme.demo")
    assert driver.check_password("parkme-demo")
    assert not driver.is_staff
    assert driver.vehicles.filter(is_active=True).count() == 1
    assert User.objects.get(email="gate@central.demo").is_staff is False
    assert User.objects.get(email="attendant@central.demo").is_staff is True


def test_seed_demo_sells_commuter_and_resident_permits_at_one_central_facility():
    call_command("seed_demo")

    products = {p.name: p for p in PermitProduct.objects.select_related("facility")}
    assert set(products) == {"Commuter", "Resident"}
    assert {p.facility.slug for p in products.values()} == {"kamppi-center"}
    assert products["Commuter"].facility.operator.name == "Demo Central Parking"
    assert [(h.weekdays, str(h.starts), str(h.ends)) for h in products["Commuter"].hours.all()] == [
        ([0, 1, 2, 3, 4], "06:00:00", "20:00:00")
    ]
    assert [(h.weekdays, str(h.starts), str(h.ends)) for h in products["Resident"].hours.all()] == [
        ([0, 1, 2, 3, 4, 5, 6], "17:00:00", "09:00:00")
    ]
    driver = User.objects.get(email="driver@parkme.demo")
    car = driver.vehicles.get(is_active=True)
    mine = Permit.objects.get(holder=driver)
    assert (mine.product.name, mine.plates_normalized) == ("Commuter", [car.plate_normalized])
    assert mine.recipient == "driver@parkme.demo"
    fleet = Permit.objects.get(holder=None, product__name="Commuter")
    assert fleet.company_name
    assert fleet.recipient == fleet.contact_email
    for permit in Permit.objects.all():
        assert permit_is_valid_at(permit, permit.valid_from)
        assert permit.events.get().actor.email == "admin@central.demo"
        # Each holder is told, through the outbox like any permit sale.
        assert permit.notifications.get().kind == NotificationKind.PERMIT_CREATED


@override_settings(PARKME_ENVIRONMENT="production")
def test_seed_demo_refuses_production_settings():
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
    assert not Operator.objects.exists()
