"""The booking services called directly (the API, admin and gate all go through them)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingEvent, Notification, NotificationKind
from bookings.states import BookingStatus
from facilities.models import SpotStatus
from parkme.errors import (
    BookingLimitReached,
    IdempotencyKeyReused,
    InvalidTransition,
    NoAvailability,
    ValidationFailed,
    VehicleBusy,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def garage():
    facility = factories.FacilityFactory()
    factories.RateVersionFactory(facility=facility, hourly_rate=Decimal("3.00"))
    return facility


@pytest.fixture
def car():
    return factories.VehicleFactory()


def _request(garage, car, *, start_in=timedelta(hours=2), hours=2, **more):
    starts = (timezone.now() + start_in).replace(second=0, microsecond=0)
    return services.BookingRequest(
        facility_id=garage.pk,
        vehicle_id=car.pk,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        **more,
    )


def test_a_booking_takes_a_free_spot_prices_it_and_records_its_creation(garage, car):
    spot = factories.SpotFactory(zone__facility=garage)
    booking, created = services.booking_create(driver=car.owner, request=_request(garage, car))
    assert created
    assert (booking.status, booking.spot, booking.price) == (
        BookingStatus.CONFIRMED,
        spot,
        Decimal("6.00"),
    )
    event = BookingEvent.objects.get(booking=booking)
    assert (event.from_status, event.to_status) == ("", BookingStatus.CONFIRMED)
    assert Notification.objects.filter(booking=booking, kind=NotificationKind.CONFIRMED).exists()


def test_a_hold_expires_later_and_sends_nothing_yet(garage, car):
    factories.SpotFactory(zone__facility=garage)
    booking, _ = services.booking_create(driver=car.owner, request=_request(garage, car, hold=True))
    assert booking.status == BookingStatus.HELD
    assert booking.hold_expires_at is not None
    assert not Notification.objects.filter(booking=booking).exists()


def test_spots_in_maintenance_are_never_booked(garage, car):
    factories.SpotFactory(zone__facility=garage, status=SpotStatus.MAINTENANCE)
    with pytest.raises(NoAvailability):
        services.booking_create(driver=car.owner, request=_request(garage, car))
    assert not Booking.objects.exists()


def test_the_same_key_returns_the_same_booking_and_another_body_is_refused(garage, car):
    factories.SpotFactory.create_batch(2, zone__facility=garage)
    request = _request(garage, car)
    first, _ = services.booking_create(driver=car.owner, request=request, idempotency_key="k1")
    again, created = services.booking_create(
        driver=car.owner, request=request, idempotency_key="k1"
    )
    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(IdempotencyKeyReused):
        services.booking_create(
            driver=car.owner, request=_request(garage, car, hours=3), idempotency_key="k1"
        )
    assert Booking.objects.count() == 1


def test_a_vehicle_cannot_be_in_two_places_and_a_driver_has_a_cap(garage, car, settings):
    factories.SpotFactory.create_batch(3, zone__facility=garage)
    services.booking_create(driver=car.owner, request=_request(garage, car))
    with pytest.raises(VehicleBusy):
        services.booking_create(driver=car.owner, request=_request(garage, car))
    settings.PARKME_BOOKING = {**settings.PARKME_BOOKING, "MAX_LIVE_PER_DRIVER": 1}
    with pytest.raises(BookingLimitReached):
        services.booking_create(
            driver=car.owner, request=_request(garage, car, start_in=timedelta(days=2))
        )


def test_a_window_that_breaks_the_rules_is_refused_before_anything_is_locked(garage, car):
    factories.SpotFactory(zone__facility=garage)
    with pytest.raises(ValidationFailed) as too_short:
        services.booking_create(driver=car.owner, request=_request(garage, car, hours=0.1))
    assert "ends_at" in too_short.value.fields
    with pytest.raises(ValidationFailed) as too_far:
        services.booking_create(
            driver=car.owner, request=_request(garage, car, start_in=timedelta(days=120))
        )
    assert "starts_at" in too_far.value.fields


def test_an_extension_reprices_on_the_same_spot(garage, car):
    factories.SpotFactory(zone__facility=garage)
    booking, _ = services.booking_create(driver=car.owner, request=_request(garage, car))
    extended = services.booking_extend(
        booking=booking, actor=car.owner, ends_at=booking.ends_at + timedelta(hours=1)
    )
    assert (extended.spot_id, extended.price) == (booking.spot_id, Decimal("9.00"))
    assert BookingEvent.objects.filter(booking=booking).count() == 2


def test_check_in_opens_fifteen_minutes_before_the_start(garage, car):
    factories.SpotFactory(zone__facility=garage)
    booking, _ = services.booking_create(driver=car.owner, request=_request(garage, car))
    with pytest.raises(InvalidTransition):
        services.booking_check_in(booking=booking, actor=car.owner)
    soon = booking.starts_at - timedelta(minutes=10)
    active = services.booking_check_in(booking=booking, actor=car.owner, now=soon)
    assert active.status == BookingStatus.ACTIVE


def test_leaving_after_the_grace_period_charges_the_overstay(garage, car):
    factories.SpotFactory(zone__facility=garage)
    booking, _ = services.booking_create(driver=car.owner, request=_request(garage, car))
    services.booking_check_in(booking=booking, actor=car.owner, now=booking.starts_at)
    late = services.booking_check_out(
        booking=booking, actor=car.owner, now=booking.ends_at + timedelta(minutes=30)
    )
    # 30 minutes past the end is past the 15-minute grace: one started hour at 3.00.
    assert late.status == BookingStatus.COMPLETED
    assert late.overstay_fee == Decimal("3.00")
