"""Demo data for development (`manage.py seed_demo`): idempotent, never in production."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from facilities.models import Facility, RatePlan, Spot, SpotKind, Zone
from parkme.models import Operator, Role, User
from parkme.services import membership_set
from vehicles.models import Vehicle

DEMO_PASSWORD = "parkme-demo"  # noqa: S105 - public by design (the documented demo logins)

OPERATORS = {
    "Demo Central Parking": [
        ("Kamppi Center", "kamppi-center", "Urho Kekkosen katu 1, Helsinki", 60.1690, 24.9320),
        ("Central Station Garage", "central-station", "Kaivokatu 1, Helsinki", 60.1712, 24.9414),
    ],
    "Demo Harbor Garages": [
        ("West Harbor", "west-harbor", "Tyynenmerenkatu 8, Helsinki", 60.1545, 24.9185),
        ("Katajanokka Terminal", "katajanokka", "Katajanokanlaituri 8, Helsinki", 60.1665, 24.9660),
    ],
}
ZONES = [("P1", -1), ("P2", -2)]
SPOTS_PER_ZONE = {
    SpotKind.STANDARD: 24,
    SpotKind.COMPACT: 8,
    SpotKind.EV: 4,
    SpotKind.ACCESSIBLE: 4,
    SpotKind.MOTORCYCLE: 4,
}
USERS = [
    # email, superuser, operator name, role
    ("ops@parkme.demo", True, None, None),
    ("admin@central.demo", False, "Demo Central Parking", Role.ADMIN),
    ("attendant@central.demo", False, "Demo Central Parking", Role.ATTENDANT),
    ("gate@central.demo", False, "Demo Central Parking", Role.DEVICE),
    ("admin@harbor.demo", False, "Demo Harbor Garages", Role.ADMIN),
    ("driver@parkme.demo", False, None, None),
]
KIND_PREFIX = {
    SpotKind.STANDARD: "S",
    SpotKind.COMPACT: "C",
    SpotKind.EV: "E",
    SpotKind.ACCESSIBLE: "A",
    SpotKind.MOTORCYCLE: "M",
}


def _seed_facility(operator: Operator, name: str, slug: str, address: str, lat: float, lng: float):
    facility, _ = Facility.objects.update_or_create(
        operator=operator,
        slug=slug,
        defaults={
            "name": name,
            "address": address,
            "latitude": lat,
            "longitude": lng,
            "timezone": "Europe/Helsinki",
            "is_active": True,
        },
    )
    existing = set(Spot.objects.filter(facility=facility).values_list("code", flat=True))
    new_spots = []
    for zone_name, level in ZONES:
        zone, _ = Zone.objects.get_or_create(
            facility=facility, name=zone_name, defaults={"level": level}
        )
        for kind, count in SPOTS_PER_ZONE.items():
            for n in range(1, count + 1):
                code = f"{zone_name}-{KIND_PREFIX[kind]}{n:02d}"
                if code not in existing:
                    new_spots.append(Spot(zone=zone, facility=facility, code=code, kind=kind))
    Spot.objects.bulk_create(new_spots)
    if not RatePlan.objects.filter(facility=facility, is_active=True).exists():
        RatePlan.objects.create(
            facility=facility,
            currency="EUR",
            hourly_rate=Decimal("3.50"),
            daily_max=Decimal("25.00"),
            grace_minutes=15,
        )
    return facility


@transaction.atomic
def demo_seed() -> dict[str, int]:
    operators = {}
    for op_name, facilities in OPERATORS.items():
        slug = op_name.lower().replace(" ", "-")
        operator, _ = Operator.objects.get_or_create(name=op_name, defaults={"slug": slug})
        operators[op_name] = operator
        for facility in facilities:
            _seed_facility(operator, *facility)

    for email, superuser, op_name, role in USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            if superuser:
                user = User.objects.create_superuser(email=email, password=DEMO_PASSWORD)
            else:
                user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
        if op_name:
            membership_set(user=user, operator=operators[op_name], role=role)

    driver = User.objects.get(email="driver@parkme.demo")
    if not Vehicle.objects.filter(owner=driver, is_active=True).exists():
        Vehicle.objects.create(owner=driver, plate="ABC-123", kind="car")

    return {
        "operators": Operator.objects.filter(name__in=OPERATORS).count(),
        "facilities": Facility.objects.filter(operator__name__in=OPERATORS).count(),
        "spots": Spot.objects.filter(facility__operator__name__in=OPERATORS).count(),
        "users": User.objects.filter(email__in=[u[0] for u in USERS]).count(),
    }
