"""Gate devices: a plate seen at entry or exit opens the barrier when a booking allows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, GateAction, GateDirection, GateEvent
from bookings.services import booking_check_in, booking_check_out, check_in_window
from bookings.states import ActorKind, BookingStatus
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


@dataclass(frozen=True)
class GateDecision:
    action: str
    reason: str
    booking: Booking | None


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


def _decide_exit(*, device: User, bookings: list[Booking], now: datetime) -> GateDecision:
    active = [b for b in bookings if b.status == BookingStatus.ACTIVE]
    if not active:
        return GateDecision(GateAction.DENY, GateReason.NO_ACTIVE_BOOKING, None)
    booking = booking_check_out(
        booking=active[0], actor=device, actor_kind=ActorKind.DEVICE, now=now
    )
    return GateDecision(GateAction.OPEN, GateReason.CHECKED_OUT, booking)


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
        decision = _decide_entry(device=device, bookings=bookings, now=now)
    else:
        decision = _decide_exit(device=device, bookings=bookings, now=now)
    GateEvent.objects.create(
        facility=facility,
        device=device,
        plate_normalized=normalized[:20],
        direction=direction,
        action=decision.action,
        reason=decision.reason,
        booking=decision.booking,
        at=now,
    )
    return decision
