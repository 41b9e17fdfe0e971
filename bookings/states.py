"""The booking state machine: every status a booking can have, and every legal move.

This module is the one home of the booking lifecycle. Services, sweeps, the gate and the
admin never compare or assign statuses by hand: they name an action, and
``transition_check`` answers with the move it makes or refuses it with
``invalid_transition``. The SQL fragments the hot paths need are built here from the same
constants as their ORM twins.

    held ──confirm──▶ confirmed ──check_in──▶ active ──check_out──▶ completed
      │                  │
      ├──expire──▶ expired ◀──expire (no-show)
      └──cancel──▶ cancelled ◀──cancel

``extend`` keeps the status (held, confirmed or active) and is recorded like any move.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q

from parkme.errors import InvalidTransition


class BookingStatus(models.TextChoices):
    HELD = "held", "Held"
    CONFIRMED = "confirmed", "Confirmed"
    ACTIVE = "active", "Active (checked in)"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class ActorKind(models.TextChoices):
    DRIVER = "driver", "Driver"
    STAFF = "staff", "Staff"
    DEVICE = "device", "Gate device"
    SYSTEM = "system", "System"


class Action(models.TextChoices):
    HOLD = "hold", "hold"
    BOOK = "book", "book"
    CONFIRM = "confirm", "confirm"
    CANCEL = "cancel", "cancel"
    EXPIRE = "expire", "expire"
    CHECK_IN = "check_in", "check in"
    CHECK_OUT = "check_out", "check out"
    EXTEND = "extend", "extend"


# A live booking holds its spot and its vehicle: the exclusion constraints cover exactly these.
LIVE_STATUSES: tuple[str, ...] = (
    BookingStatus.HELD,
    BookingStatus.CONFIRMED,
    BookingStatus.ACTIVE,
)
ENDED_STATUSES: tuple[str, ...] = (
    BookingStatus.COMPLETED,
    BookingStatus.EXPIRED,
    BookingStatus.CANCELLED,
)
# A booking occupies its spot during its booked window unless it was cancelled or expired:
# the one definition of "occupied" behind the dashboard, the roll-up, reports and metrics.
OCCUPYING_STATUSES: tuple[str, ...] = (*LIVE_STATUSES, BookingStatus.COMPLETED)

# Plain strings in a list: the constraints and indexes built from these deconstruct into
# migrations exactly as they were first written.
LIVE = Q(status__in=[str(s) for s in LIVE_STATUSES])
OCCUPYING = Q(status__in=[str(s) for s in OCCUPYING_STATUSES])


def sql_list(statuses: tuple[str, ...]) -> str:
    """Statuses as an SQL list of literals, for raw SQL built from these constants."""
    return ", ".join(f"'{str(status)}'" for status in statuses)


LIVE_STATUSES_SQL = sql_list(LIVE_STATUSES)
OCCUPYING_STATUSES_SQL = sql_list(OCCUPYING_STATUSES)

_PEOPLE = frozenset({ActorKind.DRIVER, ActorKind.STAFF})
_AT_THE_GATE = frozenset({ActorKind.DRIVER, ActorKind.STAFF, ActorKind.DEVICE})


@dataclass(frozen=True)
class Transition:
    action: str
    from_status: str  # "" for a booking being created
    to_status: str
    actors: frozenset[str]


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.HOLD, "", BookingStatus.HELD, frozenset({ActorKind.DRIVER})),
    Transition(Action.BOOK, "", BookingStatus.CONFIRMED, frozenset({ActorKind.DRIVER})),
    Transition(Action.CONFIRM, BookingStatus.HELD, BookingStatus.CONFIRMED, _PEOPLE),
    Transition(Action.CANCEL, BookingStatus.HELD, BookingStatus.CANCELLED, _PEOPLE),
    Transition(Action.CANCEL, BookingStatus.CONFIRMED, BookingStatus.CANCELLED, _PEOPLE),
    Transition(
        Action.EXPIRE, BookingStatus.HELD, BookingStatus.EXPIRED, frozenset({ActorKind.SYSTEM})
    ),
    Transition(
        Action.EXPIRE,
        BookingStatus.CONFIRMED,
        BookingStatus.EXPIRED,
        frozenset({ActorKind.SYSTEM}),
    ),
    Transition(Action.CHECK_IN, BookingStatus.CONFIRMED, BookingStatus.ACTIVE, _AT_THE_GATE),
    Transition(
        Action.CHECK_OUT,
        BookingStatus.ACTIVE,
        BookingStatus.COMPLETED,
        _AT_THE_GATE | {ActorKind.SYSTEM},
    ),
    *(
        Transition(Action.EXTEND, status, status, _PEOPLE)
        for status in (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.ACTIVE)
    ),
)
_BY_MOVE: dict[tuple[str, str], Transition] = {(t.action, t.from_status): t for t in TRANSITIONS}


def statuses_for(action: str) -> tuple[str, ...]:
    """The statuses an action can start from (what a sweep may claim for it)."""
    return tuple(t.from_status for t in TRANSITIONS if t.action == action)


def _checked(
    moves: dict[tuple[str, str], Transition],
    actions: type[models.TextChoices],
    *,
    noun: str,
    action: str,
    from_status: str,
    actor_kind: str,
) -> Transition:
    """The move ``action`` makes from ``from_status`` in ``moves``, or InvalidTransition."""
    transition = moves.get((action, from_status))
    label = actions(action).label if action in actions.values else action
    if transition is None:
        state = from_status or "new"
        raise InvalidTransition(
            f"Cannot {label} a {noun} that is {state}.", fields={"status": [state]}
        )
    if actor_kind not in transition.actors:
        raise InvalidTransition(
            f"A {actor_kind} cannot {label} a {noun}.", fields={"status": [from_status]}
        )
    return transition


def transition_check(*, action: str, from_status: str, actor_kind: str) -> Transition:
    """The move ``action`` makes from ``from_status``, or InvalidTransition (409)."""
    return _checked(
        _BY_MOVE,
        Action,
        noun="booking",
        action=action,
        from_status=from_status,
        actor_kind=actor_kind,
    )


# --- permits ------------------------------------------------------------------------------
#
#   active ──suspend──▶ suspended ──reactivate──▶ active
#     │  ╲                  │
#     │   renew (a new period, still active)
#     ├──cancel──▶ cancelled (valid to the end of its period, never renewed)
#     └──expire──▶ expired ◀──expire── suspended | cancelled   (the period is over)


class PermitStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled (valid to period end)"
    EXPIRED = "expired", "Expired"


class PermitAction(models.TextChoices):
    CREATE = "create", "create"
    RENEW = "renew", "renew"
    CHANGE_PLATES = "change_plates", "change the plates of"
    SUSPEND = "suspend", "suspend"
    REACTIVATE = "reactivate", "reactivate"
    CANCEL = "cancel", "cancel"
    EXPIRE = "expire", "expire"


# A permit counts against its product's sales cap until it expires; cancelled ones still
# run to the end of their period.
PERMIT_HELD_STATUSES: tuple[str, ...] = (
    PermitStatus.ACTIVE,
    PermitStatus.SUSPENDED,
    PermitStatus.CANCELLED,
)
# A permit lets its plates in (during its period and hours) in these states.
PERMIT_VALID_STATUSES: tuple[str, ...] = (PermitStatus.ACTIVE, PermitStatus.CANCELLED)
PERMIT_HELD = Q(status__in=[str(s) for s in PERMIT_HELD_STATUSES])
PERMIT_HELD_STATUSES_SQL = sql_list(PERMIT_HELD_STATUSES)

_HOLDER_OR_STAFF = frozenset({ActorKind.DRIVER, ActorKind.STAFF})
_STAFF = frozenset({ActorKind.STAFF})
_SYSTEM = frozenset({ActorKind.SYSTEM})

PERMIT_TRANSITIONS: tuple[Transition, ...] = (
    Transition(PermitAction.CREATE, "", PermitStatus.ACTIVE, _HOLDER_OR_STAFF),
    Transition(PermitAction.RENEW, PermitStatus.ACTIVE, PermitStatus.ACTIVE, _SYSTEM),
    *(
        Transition(PermitAction.CHANGE_PLATES, status, status, _HOLDER_OR_STAFF)
        for status in (PermitStatus.ACTIVE, PermitStatus.SUSPENDED, PermitStatus.CANCELLED)
    ),
    Transition(PermitAction.SUSPEND, PermitStatus.ACTIVE, PermitStatus.SUSPENDED, _STAFF),
    Transition(PermitAction.REACTIVATE, PermitStatus.SUSPENDED, PermitStatus.ACTIVE, _STAFF),
    Transition(PermitAction.CANCEL, PermitStatus.ACTIVE, PermitStatus.CANCELLED, _HOLDER_OR_STAFF),
    Transition(
        PermitAction.CANCEL, PermitStatus.SUSPENDED, PermitStatus.CANCELLED, _HOLDER_OR_STAFF
    ),
    *(
        Transition(PermitAction.EXPIRE, status, PermitStatus.EXPIRED, _SYSTEM)
        for status in PERMIT_HELD_STATUSES
    ),
)
_PERMIT_BY_MOVE: dict[tuple[str, str], Transition] = {
    (t.action, t.from_status): t for t in PERMIT_TRANSITIONS
}


def permit_statuses_for(action: str) -> tuple[str, ...]:
    return tuple(t.from_status for t in PERMIT_TRANSITIONS if t.action == action)


def permit_transition_check(*, action: str, from_status: str, actor_kind: str) -> Transition:
    """The move ``action`` makes on a permit in ``from_status``, or InvalidTransition (409)."""
    return _checked(
        _PERMIT_BY_MOVE,
        PermitAction,
        noun="permit",
        action=action,
        from_status=from_status,
        actor_kind=actor_kind,
    )
