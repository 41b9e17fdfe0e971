"""The one path every booking status change takes, one booking or a bulk sweep batch.

Each move is checked against ``bookings.states.TRANSITIONS`` (an illegal one is refused
here, with ``invalid_transition``), writes its BookingEvent in the caller's transaction
(and its webhook events, ``bookings.webhook_events``), and invalidates the facility's
cached availability once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bookings.models import Booking, BookingEvent
from bookings.states import Action, ActorKind, Transition, statuses_for, transition_check
from bookings.webhook_events import BOOKING_EVENTS, booking_moved, bookings_reported
from parkme.cache_versions import bump_on_commit
from parkme.models import User

REASON_MAX_LENGTH = BookingEvent._meta.get_field("reason").max_length or 255


def _event(
    *,
    booking_id: int,
    transition: Transition,
    actor: User | None,
    actor_kind: str,
    at: datetime,
    reason: str,
) -> BookingEvent:
    return BookingEvent(
        booking_id=booking_id,
        from_status=transition.from_status,
        to_status=transition.to_status,
        actor=actor,
        actor_kind=actor_kind,
        at=at,
        reason=reason[:REASON_MAX_LENGTH],
    )


def creation(*, hold: bool) -> Transition:
    """The move that creates a booking: "hold" (→ held) or "book" (→ confirmed)."""
    action = Action.HOLD if hold else Action.BOOK
    return transition_check(action=action, from_status="", actor_kind=ActorKind.DRIVER)


def booking_created(
    *, booking: Booking, transition: Transition, actor: User, now: datetime
) -> None:
    """Record the creation move of a booking just inserted with ``transition.to_status``."""
    _event(
        booking_id=booking.pk,
        transition=transition,
        actor=actor,
        actor_kind=ActorKind.DRIVER,
        at=now,
        reason="",
    ).save()
    booking_moved(booking, transition.action)
    bump_on_commit([booking.facility_id])


def booking_transition(
    *,
    booking: Booking,
    action: str,
    actor: User | None,
    actor_kind: str,
    now: datetime,
    reason: str = "",
    update_fields: Iterable[str] = (),
) -> Booking:
    """Move a booking the caller has locked (``select_for_update``) by ``action``, saving
    ``update_fields`` that the caller set alongside the status."""
    transition = transition_check(action=action, from_status=booking.status, actor_kind=actor_kind)
    booking.status = transition.to_status
    booking.save(update_fields=["status", "updated_at", *update_fields])
    _event(
        booking_id=booking.pk,
        transition=transition,
        actor=actor,
        actor_kind=actor_kind,
        at=now,
        reason=reason,
    ).save()
    booking_moved(booking, transition.action)
    bump_on_commit([booking.facility_id])
    return booking


@dataclass(frozen=True)
class Claimed:
    """A row a sweep claimed (locked): what a bulk move needs to know of it."""

    id: int
    facility_id: int
    status: str


def booking_transition_bulk(
    *, rows: list[Claimed], action: str, now: datetime, reason: str
) -> list[int]:
    """Move claimed rows by a system ``action`` in three statements (update, events,
    nothing per row); returns the ids moved. Rows the table does not allow to move are
    left as they are."""
    allowed = set(statuses_for(action))
    moves = [
        (row, transition_check(action=action, from_status=row.status, actor_kind=ActorKind.SYSTEM))
        for row in rows
        if row.status in allowed
    ]
    if not moves:
        return []
    ids_by_target: dict[str, list[int]] = {}
    for row, transition in moves:
        ids_by_target.setdefault(transition.to_status, []).append(row.id)
    for to_status, ids in ids_by_target.items():
        Booking.objects.filter(id__in=ids, status__in=allowed).update(
            status=to_status, updated_at=now
        )
    BookingEvent.objects.bulk_create(
        [
            _event(
                booking_id=row.id,
                transition=transition,
                actor=None,
                actor_kind=ActorKind.SYSTEM,
                at=now,
                reason=reason,
            )
            for row, transition in moves
        ]
    )
    moved = [row.id for row, _ in moves]
    bookings_reported([(row.id, row.facility_id) for row, _ in moves], BOOKING_EVENTS[action])
    bump_on_commit({row.facility_id for row, _ in moves})
    return moved
