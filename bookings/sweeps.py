"""Time-driven sweeps over bookings: expiry, overstays, auto check-out, reminders, roll-up,
anonymisation.

Every sweep works in bounded batches, one transaction each: it claims the due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` (so two workers running the same sweep split the rows
instead of doing them twice, and a booking a person is changing right now waits for the
next run), then applies the whole batch with a handful of bulk statements. The cost is a
few queries per batch, never per booking.

Each sweep has a ``*_due(now)`` queryset, so ``manage.py expire_bookings --dry-run`` can say
what a run would do without doing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    DateTimeField,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.models import Booking, BookingEvent, GateEvent, Notification, NotificationKind
from bookings.occupancy import capacity_by_facility, occupancy_by_facility
from bookings.outbox import outbox_kick
from bookings.services import overstay_fee
from bookings.states import ENDED_STATUSES, Action, ActorKind, BookingStatus
from bookings.transitions import Claimed, booking_transition_bulk
from bookings.webhook_events import bookings_reported
from facilities.models import Facility, OccupancyRollup, RateVersion
from facilities.rating import BoardGap
from parkme.webhooks.events import EventType

logger = logging.getLogger(__name__)

# Used when a booking has no rate version (and none is in force); RateVersion's default.
DEFAULT_GRACE_MINUTES = RateVersion._meta.get_field("grace_minutes").default


def background() -> dict:
    return settings.PARKME_BACKGROUND


class Minutes(Func):
    """An integer expression as a PostgreSQL interval of that many minutes."""

    template = "make_interval(mins => %(expressions)s)"
    output_field = DurationField()


def _grace_minutes() -> Coalesce:
    """The grace of the version that priced each booking; for a booking from before rate
    versions, the version in force at its start (RateVersion.objects.in_force, the rule of
    facilities.selectors.rate_version_in_force, as a subquery)."""
    in_force = (
        RateVersion.objects.in_force(at=OuterRef("starts_at"))
        .filter(facility=OuterRef("facility"))
        .values("grace_minutes")[:1]
    )
    return Coalesce(
        F("rate_version__grace_minutes"), Subquery(in_force), Value(DEFAULT_GRACE_MINUTES)
    )


def _past_grace(field: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) + Minutes(_grace_minutes()), output_field=DateTimeField())


def _without_notification(kind: str) -> Exists:
    return Exists(Notification.objects.filter(booking=OuterRef("pk"), kind=kind))


# --- what is due --------------------------------------------------------------------------


def holds_due(now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(status=BookingStatus.HELD, hold_expires_at__lte=now).order_by(
        "hold_expires_at", "id"
    )


def no_shows_due(now: datetime) -> QuerySet[Booking]:
    """Confirmed bookings nobody checked in to by starts_at + the facility's grace."""
    return (
        # starts_at < now first: lets PostgreSQL use the confirmed sweep index.
        Booking.objects.filter(status=BookingStatus.CONFIRMED, starts_at__lt=now)
        .alias(deadline=_past_grace("starts_at"))
        .filter(deadline__lt=now)
        .order_by("starts_at", "id")
    )


def overstays_due(now: datetime) -> QuerySet[Booking]:
    """Active bookings past ends_at + grace that have not been flagged yet."""
    return (
        Booking.objects.filter(status=BookingStatus.ACTIVE, ends_at__lt=now)
        .alias(deadline=_past_grace("ends_at"))
        .filter(deadline__lt=now)
        .exclude(_without_notification(NotificationKind.OVERSTAY))
        .order_by("ends_at", "id")
    )


def auto_checkout_after() -> timedelta:
    return timedelta(hours=background()["AUTO_CHECKOUT_AFTER_HOURS"])


def stale_active_due(now: datetime) -> QuerySet[Booking]:
    """Active bookings with no exit AUTO_CHECKOUT_AFTER_HOURS past ends_at + grace (the
    deadline <= now)."""
    cutoff = now - auto_checkout_after()
    return (
        # ends_at <= cutoff first (grace is never negative): the active sweep index.
        Booking.objects.filter(status=BookingStatus.ACTIVE, ends_at__lte=cutoff)
        .alias(deadline=_past_grace("ends_at"))
        .filter(deadline__lte=cutoff)
        .order_by("ends_at", "id")
    )


def start_reminders_due(now: datetime) -> QuerySet[Booking]:
    """Confirmed bookings starting within the lead time, booked before that window opened
    (someone who books for ten minutes from now needs no reminder)."""
    lead = timedelta(minutes=background()["REMINDER_BEFORE_START_MINUTES"])
    return (
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED, starts_at__gt=now, starts_at__lte=now + lead
        )
        .filter(created_at__lte=F("starts_at") - lead)
        .exclude(_without_notification(NotificationKind.REMINDER_START))
        .order_by("starts_at", "id")
    )


def ending_soon_due(now: datetime) -> QuerySet[Booking]:
    lead = timedelta(minutes=background()["ENDING_SOON_MINUTES"])
    return (
        Booking.objects.filter(
            status=BookingStatus.ACTIVE, ends_at__gt=now, ends_at__lte=now + lead
        )
        .exclude(_without_notification(NotificationKind.ENDING_SOON))
        .order_by("ends_at", "id")
    )


def anonymization_due(now: datetime) -> QuerySet[Booking]:
    cutoff = now - timedelta(days=settings.PARKME_BOOKING["RETENTION_DAYS"])
    return Booking.objects.filter(
        anonymized_at__isnull=True, status__in=ENDED_STATUSES, ends_at__lt=cutoff
    ).order_by("ends_at", "id")


# --- the batch machinery ------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    name: str
    count: int
    notified: int = 0


# (claimed rows, now) → (bookings done, notifications queued), inside the batch transaction.
BatchApply = Callable[[list[Claimed], datetime], tuple[int, int]]


def _claim(due: QuerySet[Booking], batch_size: int) -> list[Claimed]:
    rows = due.select_for_update(skip_locked=True, of=("self",)).values_list(
        "id", "facility_id", "status"
    )[:batch_size]
    return [Claimed(*row) for row in rows]


def _notify(booking_ids: list[int], kind: str) -> int:
    """Outbox rows in the caller's transaction; the unique (booking, kind) makes a second
    sweep's insert a no-op, so each driver hears of each thing once."""
    Notification.objects.bulk_create(
        [Notification(booking_id=i, kind=kind) for i in booking_ids], ignore_conflicts=True
    )
    return len(booking_ids)


def _expire(*, reason: str, notify: str | None) -> BatchApply:
    """A batch that moves the claimed bookings by "expire" (through the state machine)
    and, if ``notify``, queues that notification for each."""

    def apply(rows: list[Claimed], now: datetime) -> tuple[int, int]:
        moved = booking_transition_bulk(rows=rows, action=Action.EXPIRE, now=now, reason=reason)
        return len(moved), _notify(moved, notify) if notify else 0

    return apply


def _notify_only(kind: str, *, report: str | None = None) -> BatchApply:
    """A batch that queues that notification for each claimed booking and, if ``report``,
    that webhook event."""

    def apply(rows: list[Claimed], now: datetime) -> tuple[int, int]:
        if report:
            bookings_reported([(row.id, row.facility_id) for row in rows], [report])
        return len(rows), _notify([row.id for row in rows], kind)

    return apply


AUTO_CHECKOUT_REASON = "auto check-out: no exit long after the end + grace; for staff review"


def _pricing_version_id() -> Coalesce:
    """The version that prices each booking's overstay, as check-out asks for it
    (bookings.selectors.booking_rate_version): the one that priced it, else the one in force
    at its start while its facility is active."""
    in_force = (
        RateVersion.objects.in_force(at=OuterRef("starts_at"))
        .filter(facility=OuterRef("facility"), facility__is_active=True)
        .values("id")[:1]
    )
    return Coalesce(F("rate_version_id"), Subquery(in_force))


def _auto_check_out(rows: list[Claimed], now: datetime) -> tuple[int, int]:
    """Check out the claimed stale bookings as a gate exit at their deadline would: the exit
    is recorded at ends_at + grace + AUTO_CHECKOUT_AFTER_HOURS (not whenever the sweep got to
    it), the overstay fee is bookings.services.overstay_fee for that exit (the rate engine on
    [ends_at, exit), with its daily and overnight maxima and minimum charge),
    ``auto_checked_out_at`` = now flags the booking for staff review, and the driver is told
    once. Seven statements whatever the batch size: read, versions, fees and flag, move,
    events, webhook subscriptions, outbox."""
    after = auto_checkout_after()
    found = list(
        Booking.objects.filter(id__in=[row.id for row in rows], status=BookingStatus.ACTIVE)
        .annotate(deadline=_past_grace("ends_at"), version_id=_pricing_version_id())
        .order_by("id")
        .values_list("id", "ends_at", "spot_kind", "deadline", "version_id")
    )
    if not found:
        return 0, 0
    versions = RateVersion.objects.select_related("facility").in_bulk(
        {version_id for *_, version_id in found if version_id is not None}
    )
    exits, fees = [], []
    for pk, ends_at, spot_kind, deadline, version_id in found:
        exit_at = deadline + after
        fee = Decimal("0.00")  # no rate to charge at: as a check-out does (services._leave)
        if (version := versions.get(version_id)) is not None:
            booking = Booking(id=pk, ends_at=ends_at, spot_kind=spot_kind)
            try:
                fee = overstay_fee(booking=booking, version=version, checked_out_at=exit_at)
            except BoardGap:  # the admin refuses such boards; staff review it like any other
                logger.exception("auto check-out of booking %s: its board cannot price it", pk)
        exits.append(When(id=pk, then=Value(exit_at)))
        fees.append(When(id=pk, then=Value(fee)))
    ids = {pk for pk, *_ in found}
    Booking.objects.filter(id__in=ids).update(
        checked_out_at=Case(*exits, output_field=DateTimeField()),
        overstay_fee=Case(*fees, output_field=DecimalField(max_digits=10, decimal_places=2)),
        auto_checked_out_at=now,
        updated_at=now,
    )
    moved = booking_transition_bulk(
        rows=[row for row in rows if row.id in ids],
        action=Action.CHECK_OUT,
        now=now,
        reason=AUTO_CHECKOUT_REASON,
    )
    return len(moved), _notify(moved, NotificationKind.AUTO_CHECKED_OUT)


def _anonymize(rows: list[Claimed], now: datetime) -> tuple[int, int]:
    """Drop the links to a person (driver, vehicle, the driver's events, plates the gates
    read); price, currency, times, spot and facility stay: they are the operator's books."""
    ids = [row.id for row in rows]
    Booking.objects.filter(id__in=ids).update(
        driver=None,
        vehicle=None,
        idempotency_key=None,
        request_fingerprint="",
        anonymized_at=now,
        updated_at=now,
    )
    BookingEvent.objects.filter(booking_id__in=ids, actor_kind=ActorKind.DRIVER).update(actor=None)
    GateEvent.objects.filter(booking_id__in=ids).update(plate_normalized="")
    return len(rows), 0


@dataclass(frozen=True)
class Sweep:
    name: str
    due: Callable[[datetime], QuerySet[Booking]]
    apply: BatchApply
    description: str
    summary: str  # what a run does to n bookings, for commands: "expire {n} no-show(s)"


SWEEPS: dict[str, Sweep] = {
    sweep.name: sweep
    for sweep in (
        Sweep(
            "expire_holds",
            holds_due,
            _expire(reason="hold timed out", notify=None),
            "held → expired once hold_expires_at has passed. Silent: the booking was never "
            "confirmed, so the driver was told nothing to take back; the spot is freed.",
            "expire {n} timed-out hold(s)",
        ),
        Sweep(
            "expire_no_shows",
            no_shows_due,
            _expire(
                reason="no-show: not checked in within the grace period",
                notify=NotificationKind.EXPIRED,
            ),
            "confirmed → expired once starts_at + the facility's grace has passed; the "
            "driver is notified.",
            "expire {n} no-show(s)",
        ),
        Sweep(
            "flag_overstays",
            overstays_due,
            _notify_only(NotificationKind.OVERSTAY, report=EventType.BOOKING_OVERSTAY),
            "active bookings past ends_at + grace get one overstay notification (the flag "
            "staff see); the fee itself is charged at check-out.",
            "flag {n} overstay(s)",
        ),
        Sweep(
            "auto_check_out",
            stale_active_due,
            _auto_check_out,
            "active → completed for bookings with no exit AUTO_CHECKOUT_AFTER_HOURS past "
            "ends_at + grace: checked out at that deadline with the overstay fee the rate "
            "engine gives, flagged for staff review (auto_checked_out_at), the driver told once.",
            "auto check out {n} stale booking(s)",
        ),
        Sweep(
            "start_reminders",
            start_reminders_due,
            _notify_only(NotificationKind.REMINDER_START),
            "remind drivers before their booking starts (once each).",
            "remind {n} driver(s) before start",
        ),
        Sweep(
            "ending_soon",
            ending_soon_due,
            _notify_only(NotificationKind.ENDING_SOON),
            "tell parked drivers their booking ends soon (once each).",
            "remind {n} driver(s) before end",
        ),
        Sweep(
            "anonymize",
            anonymization_due,
            _anonymize,
            "drop personal data from bookings that ended more than RETENTION_DAYS ago.",
            "anonymise {n} old booking(s)",
        ),
    )
}
# The sweeps `manage.py expire_bookings` runs (and lists with --dry-run).
EXPIRY_SWEEPS = (
    "expire_holds",
    "expire_no_shows",
    "flag_overstays",
    "auto_check_out",
    "start_reminders",
    "ending_soon",
)


def sweep_batches(
    *,
    name: str,
    noun: str,
    claim: Callable[[int], list[Any]],
    apply: Callable[[list[Any], datetime], tuple[int, int]],
    now: datetime,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> SweepResult:
    """The batch loop every sweep shares (bookings and permits): ``claim`` up to a batch of
    due rows with SKIP LOCKED and ``apply`` them, one transaction a batch, until a batch
    comes back short or the run's budget is spent; then ask for an outbox run if
    notifications were queued."""
    batch_size = batch_size or background()["SWEEP_BATCH_SIZE"]
    max_batches = max_batches or background()["SWEEP_MAX_BATCHES"]
    total = notified = 0
    for _ in range(max_batches):
        with transaction.atomic():
            rows = claim(batch_size)
            done, queued = apply(rows, now) if rows else (0, 0)
        total += done
        notified += queued
        if len(rows) < batch_size:
            break
    if notified:
        outbox_kick()
    if total:
        logger.info("sweep %s: %d %s, %d notifications", name, total, noun, notified)
    return SweepResult(name=name, count=total, notified=notified)


def sweep_run(
    name: str,
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> SweepResult:
    """Run one sweep of SWEEPS now (see sweep_batches)."""
    sweep = SWEEPS[name]
    now = now or timezone.now()
    return sweep_batches(
        name=name,
        noun="bookings",
        claim=lambda size: _claim(sweep.due(now), size),
        apply=sweep.apply,
        now=now,
        batch_size=batch_size,
        max_batches=max_batches,
    )


# --- occupancy roll-up --------------------------------------------------------------------


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def occupancy_roll_up(*, hour: datetime, now: datetime | None = None) -> int:
    """Write (or rewrite) one OccupancyRollup row per active facility for the clock hour
    starting at ``hour``, by bookings.occupancy's definition: a fixed number of queries
    whatever the number of facilities and bookings."""
    now = now or timezone.now()
    start = hour_start(hour)
    ids = list(Facility.objects.active().values_list("id", flat=True))
    capacity = capacity_by_facility(facility_ids=ids)
    usage = occupancy_by_facility(facility_ids=ids, intervals=[(start, start + timedelta(hours=1))])
    rows = []
    for facility_id in ids:
        used = usage.get((facility_id, 0))
        rows.append(
            OccupancyRollup(
                facility_id=facility_id,
                hour=start,
                spots_total=capacity[facility_id],
                spots_used=used.spots if used else 0,
                occupied_minutes=int(used.spot_seconds // 60) if used else 0,
                bookings_started=used.started if used else 0,
                computed_at=now,
            )
        )
    OccupancyRollup.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["facility", "hour"],
        update_fields=[
            "spots_total",
            "spots_used",
            "occupied_minutes",
            "bookings_started",
            "computed_at",
        ],
    )
    return len(rows)
