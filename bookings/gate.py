"""Gate devices: a plate seen at entry or exit opens the barrier when a booking allows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus, GateAction, GateDirection, GateEvent
from bookings.services import booking_check_in, booking_check_out, check_in_window
from facilities.models import Facility
from parkme.errors import PermissionDenied
from parkme.models import Membership, Role, User
from vehicles.plates import normalize_plate


@dataclass(frozen=True)
class GateDecision:
    action: str
    reason: str
    booking: Booking | None


def gate_facility_for_device(*, device: User, facility_id: int) -> Facility:
    """Only gate devices of the facility's own operator; anything else is 403, and an
    unknown facility answers the same so that ids of other operators reveal nothing."""
    facility = Facility.objects.filter(pk=facility_id, is_active=True).first()
    allowed = (
        facility is not None
        and Membership.objects.filter(
            user=device, operator_id=facility.operator_id, role=Role.DEVICE
        ).exists()
    )
    if not allowed:
        raise PermissionDenied("This device may not operate that facility's gates.")
    return facility


def _decide_entry(*, device: User, facility: Facility, bookings: list[Booking], now: datetime):
    if any(b.status == BookingStatus.ACTIVE for b in bookings):
        return GateDecision(GateAction.DENY, "already_inside", None)
    confirmed = sorted(
        (b for b in bookings if b.status == BookingStatus.CONFIRMED), key=lambda b: b.starts_at
    )
    for booking in confirmed:
        opens, closes = check_in_window(booking)
        if opens <= now < closes:
            booking = booking_check_in(booking=booking, actor=device, actor_kind="device", now=now)
            return GateDecision(GateAction.OPEN, "checked_in", booking)
    if confirmed:
        reason = "too_early" if all(now < check_in_window(b)[0] for b in confirmed) else "expired"
        return GateDecision(GateAction.DENY, reason, confirmed[0])
    if any(b.status == BookingStatus.HELD for b in bookings):
        return GateDecision(GateAction.DENY, "not_confirmed", None)
    return GateDecision(GateAction.DENY, "no_booking", None)


def _decide_exit(*, device: User, bookings: list[Booking], now: datetime):
    active = [b for b in bookings if b.status == BookingStatus.ACTIVE]
    if not active:
        return GateDecision(GateAction.DENY, "no_active_booking", None)
    booking = booking_check_out(booking=active[0], actor=device, actor_kind="device", now=now)
    return GateDecision(GateAction.OPEN, "checked_out", booking)


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
        decision = _decide_entry(device=device, facility=facility, bookings=bookings, now=now)
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
