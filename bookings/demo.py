"""Demo data for development (`manage.py seed_demo`): idempotent, never in production."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bookings.demo_bookings import (
    DEMO_DRIVERS,
    demo_bookings,
    demo_bookings_seed,
    demo_drivers_seed,
)
from bookings.models import Permit, PermitProduct
from bookings.permits import PermitOrder, permit_create, permit_product_save
from bookings.states import ActorKind
from facilities.models import (
    EarlyBird,
    Facility,
    KindAdjustment,
    RateVersion,
    SpecialDay,
    Spot,
    SpotKind,
    Zone,
)
from facilities.services import all_week, rate_version_create
from parkme.devreceiver import demo_receiver_url
from parkme.models import Operator, Role, User
from parkme.services import membership_set
from parkme.webhooks.addresses import AddressRefused
from parkme.webhooks.events import EventType
from parkme.webhooks.models import WebhookEndpoint
from parkme.webhooks.services import endpoint_save
from vehicles.models import Vehicle
from vehicles.plates import normalize_plate

logger = logging.getLogger(__name__)

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
# Permit products at one Demo Central facility: name → (fields, hours bands).
PERMIT_FACILITY = ("Demo Central Parking", "kamppi-center")
WEEKDAYS_ONLY = [0, 1, 2, 3, 4]
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]
PERMIT_PRODUCTS = {
    "Commuter": (
        {"monthly_price": Decimal("129.00"), "allocated_spaces": 10, "oversell_percent": 20},
        [{"weekdays": WEEKDAYS_ONLY, "starts": time(6), "ends": time(20)}],
    ),
    "Resident": (
        {"monthly_price": Decimal("79.00"), "allocated_spaces": 6, "oversell_percent": 0},
        [{"weekdays": EVERY_DAY, "starts": time(17), "ends": time(9)}],
    ),
}
# product, holder e-mail (or None), company, contact e-mail, plates (None: the demo driver's
# car), auto_renew. Each is recognised on a re-run by its product and first plate.
DEMO_PERMITS = [
    ("Commuter", "driver@parkme.demo", "", "", None, True),
    ("Commuter", None, "Nordic Couriers Oy", "fleet@couriers.demo", ["FLT-101", "FLT-102"], True),
    ("Resident", None, "As Oy Kampinkulma", "board@kampinkulma.demo", ["KMP-1"], False),
]
PERMIT_ISSUER = "admin@central.demo"
# The webhook endpoint of Demo Central that `make run`'s receiver (manage.py demo_receiver)
# answers; recognised on a re-run by its operator and description.
WEBHOOK_OPERATOR = "Demo Central Parking"
WEBHOOK_DESCRIPTION = "Demo receiver (manage.py demo_receiver, started by make run)"

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
    if not RateVersion.objects.filter(facility=facility).exists():
        _seed_rate_board(facility)
    return facility


def _demo_bands(day_rate: Decimal, evening_rate: Decimal, weekend_rate: Decimal) -> list[dict]:
    """Weekdays: day 07–18 per hour, evening and night per half hour; weekends per hour."""
    bands = []
    for weekday in range(5):
        for starts, ends, unit, price, label in (
            (time(0), time(7), 30, evening_rate, "Night"),
            (time(7), time(18), 60, day_rate, "Day"),
            (time(18), None, 30, evening_rate, "Evening"),
        ):
            bands.append(
                {
                    "weekday": weekday,
                    "starts": starts,
                    "ends": ends,
                    "unit_minutes": unit,
                    "unit_price": price,
                    "label": label,
                }
            )
    return bands + [
        {**band, "label": "Weekend"} for band in all_week(weekend_rate) if band["weekday"] >= 5
    ]


def _seed_rate_board(facility: Facility) -> None:
    """A realistic board in force since the start of the year (weekday day/evening bands,
    early bird, overnight and daily maxima, Independence Day flat, EV surcharge, motorcycles
    half price, 25.5 % VAT, free cancellation until 2 h before), and a dearer version
    scheduled from the first day of next month."""
    now = timezone.now()
    # In January, from the start of last year: the demo's bookings of the past days (seeded
    # on New Year's Day too) are priced by the board in force then.
    this_year = datetime((now - timedelta(days=31)).year, 1, 1, tzinfo=facility.tz)
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    for valid_from, valid_to, day_rate, label in (
        (this_year, next_month, Decimal("4.00"), "Standard board"),
        (next_month, None, Decimal("4.50"), "Standard board (new prices)"),
    ):
        version = rate_version_create(
            facility=facility,
            label=label,
            valid_from=valid_from,
            valid_to=valid_to,
            bands=_demo_bands(day_rate, Decimal("1.00"), Decimal("2.50")),
            currency="EUR",
            vat_percent=Decimal("25.50"),
            grace_minutes=15,
            daily_max=Decimal("28.00"),
            overnight_starts=time(18),
            overnight_ends=time(8),
            overnight_max=Decimal("8.00"),
            minimum_charge=Decimal("1.00"),
            cancel_free_hours=2,
            cancel_fee_percent=Decimal("50"),
        )
        EarlyBird.objects.create(
            version=version,
            enter_from=time(6),
            enter_until=time(9),
            leave_from=time(15),
            leave_until=time(19),
            price=Decimal("12.00"),
            weekdays=[0, 1, 2, 3, 4],
        )
        SpecialDay.objects.create(
            version=version,
            label="Independence Day",
            first_day=date(valid_from.year, 12, 6),
            last_day=date(valid_from.year, 12, 6),
            flat_price=Decimal("10.00"),
        )
        KindAdjustment.objects.create(version=version, kind=SpotKind.EV, per_hour=Decimal("1.00"))
        KindAdjustment.objects.create(
            version=version, kind=SpotKind.MOTORCYCLE, percent=Decimal("-50")
        )


def _seed_permit_products(facility: Facility) -> dict[str, PermitProduct]:
    """The demo's permit products, created through permit_product_save (which refuses an
    allocation the facility's bookings leave no room for); existing ones are left as they
    are, so staff's edits survive a re-run."""
    products = {}
    for name, (fields, hours) in PERMIT_PRODUCTS.items():
        product = PermitProduct.objects.filter(facility=facility, name=name).first()
        if product is None:
            product = permit_product_save(
                product=PermitProduct(facility=facility, name=name, **fields), hours=hours
            )
        products[name] = product
    return products


def _seed_permits(facility: Facility) -> None:
    """A few permits issued by the facility's admin from today (local), through
    permit_create like staff would; one per product and first plate, ever."""
    products = _seed_permit_products(facility)
    issuer = User.objects.get(email=PERMIT_ISSUER)
    today = timezone.now().astimezone(facility.tz).date()
    for product_name, holder_email, company, contact, plates, auto_renew in DEMO_PERMITS:
        product = products[product_name]
        holder = User.objects.get(email=holder_email) if holder_email else None
        if plates is None:
            car = Vehicle.objects.filter(owner=holder, is_active=True).order_by("id").first()
            plates = [car.plate]
        if Permit.objects.filter(
            product=product, plates_normalized__contains=[normalize_plate(plates[0])]
        ).exists():
            continue
        permit_create(
            order=PermitOrder(
                product_id=product.pk,
                plates=plates,
                valid_from=today,
                auto_renew=auto_renew,
                holder=holder,
                company_name=company,
                contact_email=contact,
            ),
            actor=issuer,
            actor_kind=ActorKind.STAFF,
        )


def _seed_webhook_endpoint(operator: Operator, url: str) -> WebhookEndpoint | None:
    """The demo endpoint, subscribed to every event, pointing at ``url`` and active: made
    through endpoint_save like an admin would; brought back to that on a re-run (a new
    port, or disabled after failing while no receiver listened)."""
    endpoint = WebhookEndpoint.objects.filter(
        operator=operator, description=WEBHOOK_DESCRIPTION
    ).first()
    if endpoint is None:
        endpoint = WebhookEndpoint(operator=operator, description=WEBHOOK_DESCRIPTION)
    elif (
        endpoint.url == url
        and endpoint.is_active
        and sorted(endpoint.event_types) == sorted(EventType.values)
    ):
        return endpoint
    endpoint.url = url
    endpoint.event_types = list(EventType.values)
    endpoint.is_active = True
    try:
        endpoint_save(endpoint)
    except AddressRefused as exc:  # WEBHOOK_ALLOW_PRIVATE_URLS turned off
        logger.warning("demo webhook endpoint left out: %s", exc)
        return None
    return endpoint


@transaction.atomic
def demo_seed(*, now: datetime | None = None, webhook_url: str | None = None) -> dict[str, int]:
    """Create (or bring back) the demo data; the bookings are placed around ``now`` (the
    current time by default) and the webhook endpoint points at ``webhook_url`` (by default
    the receiver `make run` starts, parkme.devreceiver)."""
    now = now or timezone.now()
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

    # driver@parkme.demo's car ABC-123 first: vehicle 1 on a fresh database (the README's
    # API example books it).
    vehicles = demo_drivers_seed(DEMO_PASSWORD)

    # First, so that what follows is reported to it like any change.
    _seed_webhook_endpoint(operators[WEBHOOK_OPERATOR], webhook_url or demo_receiver_url())

    op_name, slug = PERMIT_FACILITY
    _seed_permits(Facility.objects.get(operator=operators[op_name], slug=slug))

    demo_bookings_seed(now=now, vehicles=vehicles)

    return {
        "operators": Operator.objects.filter(name__in=OPERATORS).count(),
        "facilities": Facility.objects.filter(operator__name__in=OPERATORS).count(),
        "spots": Spot.objects.filter(facility__operator__name__in=OPERATORS).count(),
        "users": User.objects.filter(email__in={*(u[0] for u in USERS), *DEMO_DRIVERS}).count(),
        "permit products": PermitProduct.objects.filter(
            facility__operator__name__in=OPERATORS
        ).count(),
        "permits": Permit.objects.filter(product__facility__operator__name__in=OPERATORS).count(),
        "bookings": demo_bookings().count(),
        "webhook endpoints": WebhookEndpoint.objects.filter(
            operator__name__in=OPERATORS, description=WEBHOOK_DESCRIPTION
        ).count(),
    }
