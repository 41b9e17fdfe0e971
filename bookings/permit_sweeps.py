"""Time-driven sweeps over permits: renewal, expiry at the end of a period, reminders.

They work like the booking sweeps (``bookings.sweeps``): bounded batches, one transaction
each, claiming the due permits with ``SELECT … FOR UPDATE SKIP LOCKED`` so two workers
running the same sweep split the permits instead of doing them twice, and a permit staff are
changing right now waits for the next run. A batch costs a handful of statements whatever
its size (bulk updates, bulk events, bulk outbox rows), never a few per permit.

**Exactly once per period.** A renewal moves ``valid_to`` a month on in the same transaction
as its event and its notification; the claim re-checks its condition under the lock
(PostgreSQL re-evaluates the WHERE clause on a row another transaction changed), so a
renewed permit no longer matches and a second or concurrent run finds nothing to do. A
declined renewal switches ``auto_renew`` off, which takes the permit out of the renewal
sweep and hands it to the expiry sweep at ``valid_to``; it is recorded as a ``renew`` event
with ``data.renewed = false`` (the status stays active, so the state machine has no other
move for it). Reminders are once per permit and period by the unique (permit, kind,
period_ends_at) outbox constraint.

A renewal continues from the end of the current period, never from now: if the sweep was
stopped for longer than a period, each run catches up one period.

Every move is checked against ``bookings.states.PERMIT_TRANSITIONS``. Each sweep has a
``*_due(now)`` queryset, so ``manage.py expire_bookings --dry-run`` can say what a run would
do without doing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from bookings.models import Notification, NotificationKind, Permit, PermitEvent, PermitProduct
from bookings.permits import permit_next_period, permit_rules, product_price
from bookings.states import (
    PERMIT_HELD,
    ActorKind,
    PermitAction,
    PermitStatus,
    permit_statuses_for,
    permit_transition_check,
)
from bookings.sweeps import SweepResult, sweep_batches
from bookings.webhook_events import permits_reported

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = Permit._meta.get_field("status_reason").max_length or 255
NOT_ON_SALE = "not renewed: the product is no longer on sale"
FACILITY_CLOSED = "not renewed: the facility is no longer active"
PERIOD_OVER = "the period is over"

# Permits a reminder is about: the ones that still let their plates in at period end.
REMINDED_STATUSES: tuple[str, ...] = (PermitStatus.ACTIVE, PermitStatus.CANCELLED)


# --- what is due --------------------------------------------------------------------------


def renewals_due(now: datetime) -> QuerySet[Permit]:
    """Active auto-renewing permits whose period ends within RENEW_LEAD_HOURS (or already
    has: a renewal the sweep missed is caught up one period per run)."""
    lead = timedelta(hours=permit_rules()["RENEW_LEAD_HOURS"])
    return (
        # PERMIT_HELD first: lets PostgreSQL use the held sweep index on valid_to.
        Permit.objects.filter(PERMIT_HELD, valid_to__lte=now + lead)
        .filter(status=PermitStatus.ACTIVE, auto_renew=True)
        .order_by("valid_to", "id")
    )


def expiries_due(now: datetime) -> QuerySet[Permit]:
    """Held permits whose period is over, except active auto-renewing ones: the renewal
    sweep renews those, or switches auto_renew off and leaves them to this one."""
    return (
        Permit.objects.filter(PERMIT_HELD, valid_to__lte=now)
        .exclude(status=PermitStatus.ACTIVE, auto_renew=True)
        .order_by("valid_to", "id")
    )


def permit_reminders_due(now: datetime) -> QuerySet[Permit]:
    """Active or cancelled permits whose period ends within REMINDER_DAYS, issued before
    that window opened (a permit bought five days before its period ends needs no "ends in
    a week" mail), not yet reminded about this period."""
    window = timedelta(days=permit_rules()["REMINDER_DAYS"])
    reminded = Notification.objects.filter(
        permit=OuterRef("pk"),
        kind=NotificationKind.PERMIT_REMINDER,
        period_ends_at=OuterRef("valid_to"),
    )
    return (
        Permit.objects.filter(PERMIT_HELD, valid_to__gt=now, valid_to__lte=now + window)
        .filter(status__in=[str(s) for s in REMINDED_STATUSES])
        .filter(created_at__lte=F("valid_to") - window)
        .exclude(Exists(reminded))
        .order_by("valid_to", "id")
    )


# --- batches ------------------------------------------------------------------------------

# (claimed permits, now) → (permits done, notifications queued), inside the batch transaction.
PermitBatchApply = Callable[[list[Permit], datetime], tuple[int, int]]


def _claim(due: QuerySet[Permit], batch_size: int) -> list[Permit]:
    return list(due.select_for_update(skip_locked=True, of=("self",))[:batch_size])


def _notify(rows: list[tuple[int, datetime]], kind: str) -> int:
    """Outbox rows (permit id, period end) in the caller's transaction; the unique
    (permit, kind, period_ends_at) makes a repeat a no-op: one mail per permit and period."""
    Notification.objects.bulk_create(
        [Notification(permit_id=pk, kind=kind, period_ends_at=ends) for pk, ends in rows],
        ignore_conflicts=True,
    )
    return len(rows)


def _period(starts: datetime, ends: datetime) -> dict[str, str]:
    """A period for an event's data, in UTC like the database hands it back (so old and new
    periods compare and read alike)."""
    return {
        "valid_from": starts.astimezone(UTC).isoformat(),
        "valid_to": ends.astimezone(UTC).isoformat(),
    }


def _declined_because(product: PermitProduct) -> str | None:
    """Why a permit of this product cannot be renewed now, or None if it can."""
    if not product.facility.is_active:
        return FACILITY_CLOSED
    if not product.on_sale:
        return NOT_ON_SALE
    return None


def _renew(permits: list[Permit], now: datetime) -> tuple[int, int]:
    """Renew each claimed permit for its next period at the product's price now, or, when
    the product is off sale (or its facility closed), switch auto_renew off so it expires at
    the end of the period it has paid for. Either way the holder is told."""
    products = PermitProduct.objects.select_related("facility").in_bulk(
        {permit.product_id for permit in permits}
    )
    renewed: list[Permit] = []
    declined: list[Permit] = []
    events: list[PermitEvent] = []
    for permit in permits:
        transition = permit_transition_check(
            action=PermitAction.RENEW, from_status=permit.status, actor_kind=ActorKind.SYSTEM
        )
        permit.product = products[permit.product_id]
        old = _period(permit.valid_from, permit.valid_to)
        old_price = {"price": str(permit.price), "currency": permit.currency}
        permit.updated_at = now
        if why := _declined_because(permit.product):
            permit.auto_renew = False
            permit.status_reason = why[:REASON_MAX_LENGTH]
            declined.append(permit)
            data: dict[str, Any] = {"renewed": False, "period": old, **old_price}
        else:
            starts, ends = permit_next_period(permit)
            price = product_price(permit.product)
            permit.valid_from, permit.valid_to = starts, ends
            permit.price, permit.price_vat, permit.currency = price.total, price.vat, price.currency
            renewed.append(permit)
            data = {
                "renewed": True,
                "old_period": old,
                "new_period": _period(starts, ends),
                "old_price": old_price,
                "new_price": {
                    "price": str(price.total),
                    "vat": str(price.vat),
                    "vat_percent": str(price.vat_percent),
                    "currency": price.currency,
                },
            }
        permit.status = transition.to_status
        events.append(
            PermitEvent(
                permit=permit,
                action=transition.action,
                from_status=transition.from_status,
                to_status=transition.to_status,
                actor=None,
                actor_kind=ActorKind.SYSTEM,
                at=now,
                reason="" if data["renewed"] else permit.status_reason,
                data=data,
            )
        )
    if renewed:
        Permit.objects.bulk_update(
            renewed,
            ["status", "valid_from", "valid_to", "price", "price_vat", "currency", "updated_at"],
        )
    if declined:
        Permit.objects.bulk_update(
            declined, ["status", "auto_renew", "status_reason", "updated_at"]
        )
    PermitEvent.objects.bulk_create(events)
    permits_reported(renewed, PermitAction.RENEW)
    # Each notice is about the period it announces: the new one, or the last one paid for.
    queued = _notify([(p.pk, p.valid_to) for p in renewed], NotificationKind.PERMIT_RENEWED)
    queued += _notify([(p.pk, p.valid_to) for p in declined], NotificationKind.PERMIT_NOT_RENEWED)
    if declined:
        logger.info(
            "permits not renewed (product off sale or facility closed): %s",
            ", ".join(p.reference for p in declined),
        )
    return len(permits), queued


def _expire(permits: list[Permit], now: datetime) -> tuple[int, int]:
    """held → expired in two statements (the update, the events). Silent: the holder was
    told when the permit was cancelled or not renewed, and suspended permits are staff's."""
    allowed = set(permit_statuses_for(PermitAction.EXPIRE))
    moves = [
        (
            permit,
            permit_transition_check(
                action=PermitAction.EXPIRE, from_status=permit.status, actor_kind=ActorKind.SYSTEM
            ),
        )
        for permit in permits
        if permit.status in allowed
    ]
    if not moves:
        return 0, 0
    Permit.objects.filter(id__in=[p.pk for p, _ in moves], status__in=allowed).update(
        status=PermitStatus.EXPIRED, updated_at=now
    )
    PermitEvent.objects.bulk_create(
        PermitEvent(
            permit=permit,
            action=transition.action,
            from_status=transition.from_status,
            to_status=transition.to_status,
            actor=None,
            actor_kind=ActorKind.SYSTEM,
            at=now,
            reason=PERIOD_OVER,
            data={"period": _period(permit.valid_from, permit.valid_to)},
        )
        for permit, transition in moves
    )
    expired = [permit for permit, _ in moves]
    for permit in expired:
        permit.status = PermitStatus.EXPIRED
    permits_reported(expired, PermitAction.EXPIRE)
    return len(moves), 0


def _remind(permits: list[Permit], now: datetime) -> tuple[int, int]:
    return len(permits), _notify(
        [(p.pk, p.valid_to) for p in permits], NotificationKind.PERMIT_REMINDER
    )


@dataclass(frozen=True)
class PermitSweep:
    name: str
    due: Callable[[datetime], QuerySet[Permit]]
    apply: PermitBatchApply
    description: str
    summary: str  # what a run does to n permits, for commands: "renew {n} permit(s)"


PERMIT_SWEEPS: dict[str, PermitSweep] = {
    sweep.name: sweep
    for sweep in (
        PermitSweep(
            "renew_permits",
            renewals_due,
            _renew,
            "active auto-renewing permits within RENEW_LEAD_HOURS of their period end get "
            "the next period at the product's price now, and a 'renewed' notice; if the "
            "product is off sale (or its facility closed) auto_renew is switched off, the "
            "holder gets a 'not renewed' notice and the permit expires at the period end.",
            "renew {n} permit(s) (or mark them not renewed, when off sale)",
        ),
        PermitSweep(
            "expire_permits",
            expiries_due,
            _expire,
            "active (not auto-renewing), suspended and cancelled permits whose period is "
            "over → expired. Silent: the holder was told when it stopped renewing.",
            "expire {n} permit(s)",
        ),
        PermitSweep(
            "permit_reminders",
            permit_reminders_due,
            _remind,
            "one reminder per period, REMINDER_DAYS before an active or cancelled permit "
            "renews or ends.",
            "remind {n} permit holder(s)",
        ),
    )
}


def permit_sweep_run(
    name: str,
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> SweepResult:
    """Run one sweep of PERMIT_SWEEPS now, in the batches every sweep shares
    (bookings.sweeps.sweep_batches)."""
    sweep = PERMIT_SWEEPS[name]
    now = now or timezone.now()
    return sweep_batches(
        name=name,
        noun="permits",
        claim=lambda size: _claim(sweep.due(now), size),
        apply=sweep.apply,
        now=now,
        batch_size=batch_size,
        max_batches=max_batches,
    )
