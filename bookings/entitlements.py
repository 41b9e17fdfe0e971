"""The entitlement check: is this plate allowed to park at this facility at this moment,
and on what — what an enforcement officer's handheld or a camera integration asks.

A plate is allowed on a booking here that is confirmed or active and whose window, opened
by the check-in lead and extended by the grace of the rate version that priced it, holds
``at``; else on a permit valid at ``at`` (period and status, as at the gate) whose product's
hours hold ``at`` or held it at most the grace ago (the grace of the facility's rate
version in force). Bookings are looked at first. Every check is recorded as a plate
look-up, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bookings.gate import GateReason, permit_standing
from bookings.models import Booking, Permit
from bookings.permit_hours import hours_intervals, hours_of
from bookings.permits import permits_for_plate
from bookings.selectors import booking_rate_version
from bookings.services import check_in_window
from bookings.states import BookingStatus
from facilities.models import Facility, RateVersion
from facilities.selectors import rate_version_in_force
from parkme.errors import NoRateInForce, PermissionDenied
from parkme.models import User
from parkme.tenancy import DEVICE_ROLES, STAFF_ROLES
from vehicles.models import PlateLookup
from vehicles.plates import normalize_plate

ENTITLEMENT_LOOKUP_CONTEXT = "api:entitlement-check"
_DEFAULT_GRACE = RateVersion._meta.get_field("grace_minutes").default


class EntitlementReason:
    BOOKING = "booking"
    BOOKING_GRACE = "booking_grace"
    BOOKING_NOT_STARTED = "booking_not_started"
    BOOKING_ENDED = "booking_ended"
    PERMIT = "permit"
    PERMIT_GRACE = "permit_grace"
    NO_ENTITLEMENT = "no_entitlement"


@dataclass(frozen=True)
class EntitlementCheck:
    allowed: bool
    reason: str
    booking: Booking | None = None
    permit: Permit | None = None
    valid_until: datetime | None = None
    grace_minutes: int = 0
    grace_applied: bool = False
    plate: str = ""


def entitlement_facility(*, user: User, facility_id: int) -> Facility:
    """Admins, attendants and gate devices of the facility's operator (and ops); anyone
    else — and an unknown facility — gets the same 403."""
    facility = (
        Facility.objects.for_staff(user, roles=STAFF_ROLES | DEVICE_ROLES)
        .filter(pk=facility_id)
        .first()
    )
    if facility is None:
        raise PermissionDenied("You may not check plates at that facility.")
    return facility


def _by_booking(facility: Facility, plate: str, at: datetime) -> EntitlementCheck | None:
    bookings = list(
        Booking.objects.filter(
            facility=facility,
            vehicle__plate_normalized=plate,
            status__in=[BookingStatus.CONFIRMED, BookingStatus.ACTIVE],
        )
        .select_related("facility", "rate_version")
        .order_by("starts_at")
    )
    if not bookings:
        return None
    nearest: EntitlementCheck | None = None
    for booking in bookings:
        grace = booking_rate_version(booking).grace_minutes
        opens, _ = check_in_window(booking)
        until = booking.ends_at + timedelta(minutes=grace)
        if booking.status == BookingStatus.ACTIVE:
            opens = min(opens, booking.checked_in_at or opens)
        if opens <= at < until:
            return EntitlementCheck(
                allowed=True,
                reason=EntitlementReason.BOOKING_GRACE
                if at >= booking.ends_at
                else EntitlementReason.BOOKING,
                booking=booking,
                valid_until=booking.ends_at,
                grace_minutes=grace,
                grace_applied=at >= booking.ends_at,
            )
        if nearest is None:
            nearest = EntitlementCheck(
                allowed=False,
                reason=EntitlementReason.BOOKING_NOT_STARTED
                if at < opens
                else EntitlementReason.BOOKING_ENDED,
                booking=booking,
                valid_until=booking.ends_at,
                grace_minutes=grace,
            )
    return nearest


def _facility_grace(facility: Facility, at: datetime) -> int:
    try:
        return rate_version_in_force(facility_id=facility.pk, at=at).grace_minutes
    except NoRateInForce:
        return _DEFAULT_GRACE


def _hours_end(permit: Permit, at: datetime) -> datetime:
    """When the permit's hours that hold ``at`` end (chained bands followed, at most a
    month ahead), but never after its period."""
    product = permit.product
    hours, tz = hours_of(product.hours.all()), product.facility.tz
    end = at
    for begins, ends in hours_intervals(
        hours, tz, at, min(permit.valid_to, at + timedelta(days=31))
    ):
        if begins <= end < ends or begins == end:
            end = max(end, ends)
    return min(end, permit.valid_to)


def _by_permit(facility: Facility, plate: str, at: datetime) -> EntitlementCheck | None:
    permits = permits_for_plate(facility_id=facility.pk, plate_normalized=plate, at=at)
    if not permits:
        return None
    permit = permits[0]
    grace = _facility_grace(facility, at)
    refusal = permit_standing(permit, at)
    if refusal is None:
        return EntitlementCheck(
            allowed=True,
            reason=EntitlementReason.PERMIT,
            permit=permit,
            valid_until=_hours_end(permit, at),
            grace_minutes=grace,
        )
    earlier = at - timedelta(minutes=grace)
    if grace and refusal in (GateReason.PERMIT_OUTSIDE_HOURS, GateReason.PERMIT_EXPIRED):
        if permit_standing(permit, earlier) is None:
            return EntitlementCheck(
                allowed=True,
                reason=EntitlementReason.PERMIT_GRACE,
                permit=permit,
                valid_until=_hours_end(permit, earlier),
                grace_minutes=grace,
                grace_applied=True,
            )
    return EntitlementCheck(
        allowed=False, reason=refusal, permit=permit, valid_until=None, grace_minutes=grace
    )


def entitlement_check(
    *, user: User, facility: Facility, plate: str, at: datetime
) -> EntitlementCheck:
    """Whether ``plate`` may park at ``facility`` at ``at``, and on what. Recorded as a
    plate look-up by ``user`` for the facility's operator."""
    PlateLookup.objects.create(
        staff=user,
        operator_id=facility.operator_id,
        query=plate[:64],
        context=ENTITLEMENT_LOOKUP_CONTEXT,
    )
    normalized = normalize_plate(plate)
    by_booking = _by_booking(facility, normalized, at)
    by_permit = None
    if by_booking is None or not by_booking.allowed:
        by_permit = _by_permit(facility, normalized, at)
    if by_booking is not None and by_booking.allowed:
        answer = by_booking
    elif by_permit is not None and by_permit.allowed:
        answer = by_permit
    else:
        answer = (
            by_booking
            or by_permit
            or EntitlementCheck(
                allowed=False,
                reason=EntitlementReason.NO_ENTITLEMENT,
                grace_minutes=_facility_grace(facility, at),
            )
        )
    return replace(answer, plate=normalized)
