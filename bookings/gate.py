"""Gate devices: a plate seen at entry or exit opens the barrier when a booking or a permit
allows it.

An entry matches the plate's bookings here first (checking in the one in its check-in
window); when no booking opens the gate (and the plate is not already inside on one), a
permit valid now for this facility may: inside its product's hours, when no other vehicle
of the permit is inside (anti-passback) and fewer holders of the product are inside than
its allocated spaces. The product row is locked meanwhile, so two holders racing for the
last space do not both get in. An exit checks out the plate's active booking, else closes
its permit's presence. Every event is recorded with the booking or permit it matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, GateAction, GateDirection, GateEvent, Permit, PermitProduct
from bookings.permit_hours import hours_of, in_hours
from bookings.permits import permit_is_valid_at, permits_for_plate, permits_inside
from bookings.services import booking_check_in, booking_check_out, check_in_window
from bookings.states import ActorKind, BookingStatus, PermitStatus
from bookings.webhook_events import gate_event_reported
from facilities.models import Facility
from parkme.errors import PermissionDenied
from parkme.models import User
from parkme.tenancy import DEVICE_ROLES
from vehicles.plates import normalize_plate


class GateReason:
    """Why the gate opened or stayed shut (the API's ``reason``)."""

    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    ALREADY_INSIDE = "already_inside"
    TOO_EARLY = "too_early"
    # The booking's check-in window has passed: it is (or is about to be) expired.
    EXPIRED = BookingStatus.EXPIRED.value
    NOT_CONFIRMED = "not_confirmed"
    NO_BOOKING = "no_booking"
    NO_ACTIVE_BOOKING = "no_active_booking"
    PERMIT_ENTRY = "permit_entry"
    PERMIT_EXIT = "permit_exit"
    PERMIT_OUTSIDE_HOURS = "permit_outside_hours"
    PERMIT_VEHICLE_INSIDE = "permit_vehicle_inside"
    PERMIT_CAPACITY_FULL = "permit_capacity_full"
    PERMIT_SUSPENDED = "permit_suspended"
    PERMIT_NOT_STARTED = "permit_not_started"
    PERMIT_EXPIRED = "permit_expired"


@dataclass(frozen=True)
class GateDecision:
    action: str
    reason: str
    booking: Booking | None
    permit: Permit | None = None


def gate_facility_for_device(*, device: User, facility_id: int) -> Facility:
    """Only gate devices of the facility's own operator; anything else is 403, and an
    unknown facility answers the same so that ids of other operators reveal nothing."""
    facility = (
        Facility.objects.for_staff(device, roles=DEVICE_ROLES, superuser_sees_all=False)
        .filter(pk=facility_id, is_active=True)
        .first()
    )
    if facility is None:
        raise PermissionDenied("This device may not operate that facility's gates.")
    return facility


def _decide_entry(*, device: User, bookings: list[Booking], now: datetime) -> GateDecision:
    if any(b.status == BookingStatus.ACTIVE for b in bookings):
        return GateDecision(GateAction.DENY, GateReason.ALREADY_INSIDE, None)
    confirmed = sorted(
        (b for b in bookings if b.status == BookingStatus.CONFIRMED), key=lambda b: b.starts_at
    )
    for booking in confirmed:
        opens, closes = check_in_window(booking)
        if opens <= now < closes:
            booking = booking_check_in(
                booking=booking, actor=device, actor_kind=ActorKind.DEVICE, now=now
            )
            return GateDecision(GateAction.OPEN, GateReason.CHECKED_IN, booking)
    if confirmed:
        early = all(now < check_in_window(b)[0] for b in confirmed)
        reason = GateReason.TOO_EARLY if early else GateReason.EXPIRED
        return GateDecision(GateAction.DENY, reason, confirmed[0])
    if any(b.status == BookingStatus.HELD for b in bookings):
        return GateDecision(GateAction.DENY, GateReason.NOT_CONFIRMED, None)
    return GateDecision(GateAction.DENY, GateReason.NO_BOOKING, None)


def permit_standing(permit: Permit, at: datetime) -> str | None:
    """Why a permit does not let its plates in at ``at`` (hours included), or None."""
    if permit.status == PermitStatus.SUSPENDED:
        return GateReason.PERMIT_SUSPENDED
    if not permit_is_valid_at(permit, at):
        return (
            GateReason.PERMIT_NOT_STARTED if at < permit.valid_from else GateReason.PERMIT_EXPIRED
        )
    product = permit.product
    if not in_hours(hours_of(product.hours.all()), product.facility.tz, at):
        return GateReason.PERMIT_OUTSIDE_HOURS
    return None


def _decide_permit_entry(*, facility: Facility, plate: str, now: datetime) -> GateDecision | None:
    permits = permits_for_plate(facility_id=facility.pk, plate_normalized=plate, at=now)
    if not permits:
        return None
    permit = permits[0]
    if (refusal := permit_standing(permit, now)) is not None:
        return GateDecision(GateAction.DENY, refusal, None, permit)
    # Holders of one product enter one at a time: the count below is then exact.
    product = (
        PermitProduct.objects.select_for_update()
        .only("id", "allocated_spaces")
        .get(pk=permit.product_id)
    )
    inside = permits_inside(facility_id=facility.pk, product_ids=[product.pk], now=now)
    mine = next((i for i in inside if i.permit_id == permit.pk), None)
    if mine is not None:
        if mine.plate != plate:
            return GateDecision(GateAction.DENY, GateReason.PERMIT_VEHICLE_INSIDE, None, permit)
        # The same vehicle again (its exit was not read): it holds one space already.
        return GateDecision(GateAction.OPEN, GateReason.PERMIT_ENTRY, None, permit)
    if len(inside) >= product.allocated_spaces:
        return GateDecision(GateAction.DENY, GateReason.PERMIT_CAPACITY_FULL, None, permit)
    return GateDecision(GateAction.OPEN, GateReason.PERMIT_ENTRY, None, permit)


def _entry(
    *, device: User, facility: Facility, plate: str, bookings: list[Booking], now: datetime
) -> GateDecision:
    by_booking = _decide_entry(device=device, bookings=bookings, now=now) if bookings else None
    if by_booking is not None and (
        by_booking.action == GateAction.OPEN or by_booking.reason == GateReason.ALREADY_INSIDE
    ):
        return by_booking
    by_permit = _decide_permit_entry(facility=facility, plate=plate, now=now)
    if by_permit is not None and by_permit.action == GateAction.OPEN:
        return by_permit
    return by_booking or by_permit or GateDecision(GateAction.DENY, GateReason.NO_BOOKING, None)


def _decide_exit(
    *, device: User, facility: Facility, plate: str, bookings: list[Booking], now: datetime
) -> GateDecision:
    active = [b for b in bookings if b.status == BookingStatus.ACTIVE]
    if active:
        booking = booking_check_out(
            booking=active[0], actor=device, actor_kind=ActorKind.DEVICE, now=now
        )
        return GateDecision(GateAction.OPEN, GateReason.CHECKED_OUT, booking)
    # A permit's plate always leaves; the exit closes the permit's presence.
    permits = permits_for_plate(facility_id=facility.pk, plate_normalized=plate, at=now)
    if permits:
        return GateDecision(GateAction.OPEN, GateReason.PERMIT_EXIT, None, permits[0])
    return GateDecision(GateAction.DENY, GateReason.NO_ACTIVE_BOOKING, None)


@transaction.atomic
def gate_event_process(
    *, device: User, facility: Facility, plate: str, direction: str, now: datetime | None = None
) -> GateDecision:
    now = now or timezone.now()
    normalized = normalize_plate(plate)
    bookings = list(
        Booking.objects.live()
        .filter(
            facility=facility,
            vehicle__plate_normalized=normalized,
            vehicle__is_active=True,
        )
        .select_related("facility")
        .order_by("starts_at")
    )
    if direction == GateDirection.ENTRY:
        decision = _entry(
            device=device, facility=facility, plate=normalized, bookings=bookings, now=now
        )
    else:
        decision = _decide_exit(
            device=device, facility=facility, plate=normalized, bookings=bookings, now=now
        )
    event = GateEvent.objects.create(
        facility=facility,
        device=device,
        plate_normalized=normalized[:20],
        direction=direction,
        action=decision.action,
        reason=decision.reason,
        booking=decision.booking,
        permit=decision.permit,
        at=now,
    )
    gate_event_reported(event)
    return decision
