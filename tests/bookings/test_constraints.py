"""Every other database constraint refuses the bad row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bookings.models import Booking, Notification, NotificationKind
from bookings.states import BookingStatus
from facilities.models import RateVersion, Spot
from tests.factories import (
    BookingFactory,
    FacilityFactory,
    MembershipFactory,
    SpotFactory,
    UserFactory,
    VehicleFactory,
)
from vehicles.models import Vehicle

pytestmark = pytest.mark.django_db


def _refused(constraint: str, make):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        make()


def test_booking_must_end_after_it_starts():
    start = BookingFactory.starts_at.function()
    _refused("booking_ends_after_start", lambda: BookingFactory(starts_at=start, ends_at=start))


def test_unknown_booking_status_is_refused():
    _refused("booking_status_valid", lambda: BookingFactory(status="lost"))


def test_held_booking_needs_an_expiry():
    booking = BookingFactory(status=BookingStatus.CONFIRMED)
    booking.status = BookingStatus.HELD
    _refused("booking_held_has_expiry", lambda: booking.save())


def test_negative_price_is_refused():
    _refused("booking_money_nonnegative", lambda: BookingFactory(price=Decimal("-1")))


def test_one_idempotency_key_per_driver():
    first = BookingFactory(idempotency_key="k-1")
    vehicle = VehicleFactory(owner=first.driver)
    start = first.starts_at + timedelta(days=1)
    _refused(
        "booking_idempotency_key_per_driver",
        lambda: BookingFactory(vehicle=vehicle, starts_at=start, idempotency_key="k-1"),
    )
    # Another driver may use the same key.
    BookingFactory(idempotency_key="k-1")


def test_rate_versions_of_one_facility_never_overlap_in_time():
    facility = FacilityFactory()
    jan, feb, mar = (datetime(2027, m, 1, tzinfo=UTC) for m in (1, 2, 3))
    RateVersion.objects.create(facility=facility, valid_from=jan, valid_to=feb)
    _refused(
        "rateversion_no_overlap",
        lambda: RateVersion.objects.create(facility=facility, valid_from=jan + timedelta(days=9)),
    )
    _refused(
        "rateversion_no_overlap",
        lambda: RateVersion.objects.create(
            facility=facility, valid_from=datetime(2026, 1, 1, tzinfo=UTC)
        ),
    )
    # Back to back (half-open periods) is fine, and so is another facility at the same time.
    RateVersion.objects.create(facility=facility, valid_from=feb, valid_to=mar)
    RateVersion.objects.create(facility=facility, valid_from=mar)
    RateVersion.objects.create(facility=FacilityFactory(), valid_from=jan)
    assert RateVersion.objects.filter(facility=facility).count() == 3


def test_rate_version_period_and_currency_are_checked():
    facility = FacilityFactory()
    now = datetime(2027, 1, 1, tzinfo=UTC)
    _refused(
        "rateversion_period_nonempty",
        lambda: RateVersion.objects.create(facility=facility, valid_from=now, valid_to=now),
    )
    _refused(
        "rateversion_currency_iso",
        lambda: RateVersion.objects.create(facility=facility, valid_from=now, currency="eur"),
    )


def test_spot_code_unique_per_facility_but_not_across():
    spot = SpotFactory(code="P1-001")
    _refused(
        "spot_code_per_facility",
        lambda: SpotFactory(zone=spot.zone, code="P1-001"),
    )
    SpotFactory(code="P1-001")  # another facility
    assert Spot.objects.filter(code="P1-001").count() == 2


def test_spot_kind_must_be_known():
    _refused("spot_kind_valid", lambda: SpotFactory(kind="truck"))


def test_active_plate_unique_per_owner_but_inactive_ones_may_repeat():
    owner = UserFactory()
    VehicleFactory(owner=owner, plate="abc-123")
    _refused("vehicle_active_plate_per_owner", lambda: VehicleFactory(owner=owner, plate="ABC 123"))
    VehicleFactory(owner=owner, plate="ABC123", is_active=False)
    VehicleFactory(plate="ABC-123")  # another owner
    assert Vehicle.objects.filter(plate_normalized="ABC123").count() == 3


def test_facility_slug_unique_per_operator():
    facility = FacilityFactory(slug="kamppi")
    _refused(
        "facility_slug_per_operator",
        lambda: FacilityFactory(operator=facility.operator, slug="kamppi"),
    )


def test_facility_coordinates_must_be_on_earth():
    _refused("facility_coordinates_valid", lambda: FacilityFactory(latitude=91))


def test_membership_unique_per_user_and_operator():
    membership = MembershipFactory()
    _refused(
        "membership_unique",
        lambda: MembershipFactory(user=membership.user, operator=membership.operator),
    )


def test_membership_role_must_be_known():
    _refused("membership_role_valid", lambda: MembershipFactory(role="owner"))


def test_one_notification_per_booking_and_kind():
    booking = BookingFactory()
    Notification.objects.create(booking=booking, kind=NotificationKind.CONFIRMED)
    _refused(
        "notification_once_per_kind",
        lambda: Notification.objects.create(booking=booking, kind=NotificationKind.CONFIRMED),
    )


def test_email_is_unique_regardless_of_case():
    UserFactory(email="Sam@Example.test")
    _refused(
        "user_email_ci_unique|parkme_user_email_key", lambda: UserFactory(email="sam@example.TEST")
    )


def test_live_booking_needs_a_driver():
    booking = BookingFactory()
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.COMPLETED, driver=None)
    with pytest.raises(IntegrityError, match="booking_live_has_driver_and_vehicle"):
        Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CONFIRMED)
