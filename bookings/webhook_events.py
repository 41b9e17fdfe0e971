"""What bookings, permits and gates report to operators' webhooks (``parkme.webhooks``):
which change is which event type, and its data.

The data is the JSON the API shows for the resource (``bookings.representations``), as it
is right after the change, without plates: a plate appears only in gate events. Every
emitter here runs inside the transaction that makes the change, so the delivery rows
commit (or roll back) with it, and builds data only when an endpoint subscribes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache, partial
from typing import Any

from django.db.models import prefetch_related_objects

from bookings.models import Booking, GateEvent, Permit
from bookings.representations import (
    BookingFacilityOutput,
    BookingOutput,
    GateBookingOutput,
    GatePermitOutput,
    PermitOutput,
)
from bookings.states import Action, PermitAction
from parkme.webhooks.events import EventType
from parkme.webhooks.selectors import subscribing_endpoints, subscriptions
from parkme.webhooks.services import Event, webhook_emit

# The events a booking's move reports (a direct booking is created confirmed: both).
BOOKING_EVENTS: dict[str, tuple[str, ...]] = {
    Action.HOLD: (EventType.BOOKING_CREATED,),
    Action.BOOK: (EventType.BOOKING_CREATED, EventType.BOOKING_CONFIRMED),
    Action.CONFIRM: (EventType.BOOKING_CONFIRMED,),
    Action.CANCEL: (EventType.BOOKING_CANCELLED,),
    Action.EXTEND: (EventType.BOOKING_EXTENDED,),
    Action.CHECK_IN: (EventType.BOOKING_CHECKED_IN,),
    Action.CHECK_OUT: (EventType.BOOKING_CHECKED_OUT,),
    Action.EXPIRE: (EventType.BOOKING_EXPIRED,),
}
PERMIT_EVENTS: dict[str, str] = {
    PermitAction.CREATE: EventType.PERMIT_CREATED,
    PermitAction.RENEW: EventType.PERMIT_RENEWED,
    PermitAction.CANCEL: EventType.PERMIT_CANCELLED,
    PermitAction.EXPIRE: EventType.PERMIT_EXPIRED,
}


def booking_data(booking: Booking) -> dict[str, Any]:
    """The booking as the driver API shows it, the vehicle without its plate."""
    data = dict(BookingOutput(booking).data)
    if data.get("vehicle"):
        data["vehicle"] = {"id": data["vehicle"]["id"]}
    return data


def permit_data(permit: Permit) -> dict[str, Any]:
    """The permit as the driver API shows it, without its plates."""
    data = dict(PermitOutput(permit).data)
    data.pop("plates", None)
    return data


def _events(operator_id: int, types: Iterable[str], build: Callable[[], dict]) -> list[Event]:
    once = cache(build)  # one resource, several events: serialise it once
    return [Event(operator_id=operator_id, type=t, data=once) for t in types]


def booking_reported(booking: Booking, types: Sequence[str]) -> int:
    """One booking (facility, spot and zone, vehicle loaded) after a change."""
    return webhook_emit(_events(booking.facility.operator_id, types, lambda: booking_data(booking)))


def booking_moved(booking: Booking, action: str) -> int:
    return booking_reported(booking, BOOKING_EVENTS.get(action, ()))


def bookings_reported(rows: Sequence[tuple[int, int]], types: Sequence[str]) -> int:
    """Many bookings a sweep changed, as (id, facility id): one query asks which endpoints of
    their facilities' operators subscribe (all a sweep pays when none does); the bookings are
    read and serialised only for those."""
    if not rows or not types:
        return 0
    facility_ids = {facility_id for _, facility_id in rows}
    endpoints = subscribing_endpoints(types).filter(operator__facilities__id__in=facility_ids)
    subscribed = subscriptions(event_types=types, endpoints=endpoints)
    if not subscribed:
        return 0
    bookings = (
        Booking.objects.filter(
            id__in=[pk for pk, _ in rows], facility__operator_id__in=subscribed.by_operator
        )
        .select_related("facility", "spot__zone", "vehicle")
        .order_by("id")
    )
    events = [
        event
        for booking in bookings
        for event in _events(booking.facility.operator_id, types, partial(booking_data, booking))
    ]
    return webhook_emit(events, subscribed=subscribed)


def permits_reported(permits: Sequence[Permit], action: str) -> int:
    """Permits after a change (product and facility loaded; the hours are fetched once for
    all of them, and only when someone subscribes)."""
    event_type = PERMIT_EVENTS[action]
    if not permits:
        return 0
    subscribed = subscriptions(
        operator_ids=[p.product.facility.operator_id for p in permits], event_types=[event_type]
    )
    wanted = [p for p in permits if subscribed.wants(p.product.facility.operator_id, event_type)]
    if not wanted:
        return 0
    prefetch_related_objects(wanted, "product__hours")
    return webhook_emit(
        (
            Event(
                operator_id=permit.product.facility.operator_id,
                type=event_type,
                data=partial(permit_data, permit),
            )
            for permit in wanted
        ),
        subscribed=subscribed,
    )


def gate_event_data(event: GateEvent) -> dict[str, Any]:
    """A gate event: where, which plate (as read, normalised), which way, the decision and
    the booking or permit it matched, as the gate API answers."""
    facility = event.facility
    return {
        "facility": BookingFacilityOutput(facility).data,
        "plate": event.plate_normalized,
        "direction": event.direction,
        "at": event.at.astimezone(facility.tz).isoformat(),
        "action": event.action,
        "reason": event.reason,
        "booking": GateBookingOutput(event.booking).data if event.booking else None,
        "permit": GatePermitOutput(event.permit).data if event.permit else None,
    }


def gate_event_reported(event: GateEvent) -> int:
    event_type = f"gate.{event.direction}"
    return webhook_emit(
        _events(event.facility.operator_id, [event_type], lambda: gate_event_data(event))
    )
