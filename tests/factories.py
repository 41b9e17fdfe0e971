"""factory_boy factories for the whole domain."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from bookings.models import Booking, Permit, PermitHours, PermitProduct
from bookings.states import BookingStatus
from facilities.models import Facility, RateVersion, Spot, SpotKind, Zone
from facilities.services import all_week, rate_version_create
from parkme.models import Membership, Operator, Role, User
from vehicles.models import Vehicle

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    name = factory.Sequence(lambda n: f"Operator {n}")
    slug = factory.Sequence(lambda n: f"operator-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    operator = factory.SubFactory(OperatorFactory)
    role = Role.ADMIN


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Facility {n}")
    slug = factory.Sequence(lambda n: f"facility-{n}")
    address = "Mannerheimintie 1, Helsinki"
    latitude = 60.17
    longitude = 24.94
    timezone = "Europe/Helsinki"


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"Z{n}")
    level = 0


class SpotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Spot

    zone = factory.SubFactory(ZoneFactory)
    facility = factory.SelfAttribute("zone.facility")
    code = factory.Sequence(lambda n: f"S{n:04d}")
    kind = SpotKind.STANDARD


class RateVersionFactory(factory.django.DjangoModelFactory):
    """A rate version in force since 2000 and until further notice: every hour at
    ``hourly_rate``, capped at ``daily_max`` per day; free to cancel until the start, the
    whole price after it."""

    class Meta:
        model = RateVersion

    facility = factory.SubFactory(FacilityFactory)
    valid_from = datetime(2000, 1, 1, tzinfo=UTC)
    currency = "EUR"
    daily_max = Decimal("20.00")
    grace_minutes = 15
    cancel_fee_percent = Decimal("100")

    @classmethod
    def _create(cls, model_class, *args, hourly_rate="3.00", **kwargs):
        return rate_version_create(bands=all_week(Decimal(str(hourly_rate))), **kwargs)


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    owner = factory.SubFactory(UserFactory)
    plate = factory.Sequence(lambda n: f"ABC-{n:03d}")
    kind = "car"


class BookingFactory(factory.django.DjangoModelFactory):
    """A confirmed booking tomorrow; pass spot/vehicle/times to shape it."""

    class Meta:
        model = Booking

    spot = factory.SubFactory(SpotFactory)
    facility = factory.SelfAttribute("spot.facility")
    vehicle = factory.SubFactory(VehicleFactory)
    driver = factory.SelfAttribute("vehicle.owner")
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda b: b.starts_at + timedelta(hours=2))
    status = BookingStatus.CONFIRMED
    price = Decimal("6.00")
    currency = "EUR"
    hold_expires_at = factory.LazyAttribute(
        lambda b: timezone.now() + timedelta(minutes=10) if b.status == BookingStatus.HELD else None
    )


# --- permits ------------------------------------------------------------------------------

ALL_WEEK = [0, 1, 2, 3, 4, 5, 6]
WORKDAYS = [0, 1, 2, 3, 4]


def permit_product(
    facility,
    *,
    hours=((ALL_WEEK, "00:00", "00:00"),),
    name=None,
    allocated_spaces=2,
    oversell_percent=0,
    spot_kind=SpotKind.STANDARD,
    monthly_price="120.00",
    **extra,
) -> PermitProduct:
    """A product at ``facility`` with its hours: (weekdays, "HH:MM" starts, "HH:MM" ends)."""
    product = PermitProduct.objects.create(
        facility=facility,
        name=name or f"Pass {PermitProduct.objects.count() + 1}",
        spot_kind=spot_kind,
        monthly_price=Decimal(monthly_price),
        allocated_spaces=allocated_spaces,
        oversell_percent=oversell_percent,
        **extra,
    )
    for weekdays, starts, ends in hours:
        PermitHours.objects.create(
            product=product,
            weekdays=list(weekdays),
            starts=time.fromisoformat(starts),
            ends=time.fromisoformat(ends),
        )
    return product


def permit(product, *, holder=None, plates=("PRM-001",), valid_from=None, **extra) -> Permit:
    """A permit issued by staff through the service (period from ``valid_from``, a local
    date, default today at the facility)."""
    from bookings.permits import PermitOrder, permit_create
    from bookings.states import ActorKind

    holder = holder if holder is not None else UserFactory()
    today = timezone.now().astimezone(product.facility.tz).date()
    return permit_create(
        order=PermitOrder(
            product_id=product.pk,
            plates=list(plates),
            valid_from=valid_from or today,
            holder=holder,
            **extra,
        ),
        actor=holder,
        actor_kind=ActorKind.STAFF,
    )
