"""Time-driven sweeps over bookings: expiry, overstays, reminders, roll-up, anonymisation.

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

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from bookings.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    GateEvent,
    Notification,
    NotificationKind,
)
from bookings.outbox import outbox_kick
from facilities.availability_cache import bump_on_commit
from facilities.models import Facility, OccupancyRollup, RatePlan, SpotStatus

logger = logging.getLogger(__name__)

# Used when a facility has no active rate plan any more; the same as RatePlan's default.
DEFAULT_GRACE_MINUTES = RatePlan._meta.get_field("grace_minutes").default
ENDED_STATUSES = (BookingStatus.COMPLETED, BookingStatus.EXPIRED, BookingStatus.CANCELLED)
# Bookings that hold their spot for the hour, for the occupancy roll-up.
OCCUPYING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.ACTIVE, BookingStatus.COMPLETED)


def background() -> dict:
    return settings.PARKME_BACKGROUND


class Minutes(Func):
    """An integer expression as a PostgreSQL interval of that many minutes."""

    template = "make_interval(mins => %(expressions)s)"
    output_field = DurationField()


def _grace_minutes() -> Coalesce:
    plan_grace = RatePlan.objects.filter(facility=OuterRef("facility"), is_active=True).values(
        "grace_minutes"
    )[:1]
    return Coalesce(Subquery(plan_grace), Value(DEFAULT_GRACE_MINUTES))


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


def _claim(due: QuerySet[Booking], batch_size: int) -> list[dict]:
    return list(
        due.select_for_update(skip_locked=True, of=("self",)).values("id", "facility_id", "status")[
            :batch_size
        ]
    )


def _run(
    name: str,
    apply_batch: Callable[[int], tuple[int, int]],
    *,
    batch_size: int | None,
    max_batches: int | None,
) -> SweepResult:
    """Call apply_batch (claim + apply, returning (rows, notifications)) one transaction at a
    time until a batch comes back short or the run's budget is spent."""
    batch_size = batch_size or background()["SWEEP_BATCH_SIZE"]
    max_batches = max_batches or background()["SWEEP_MAX_BATCHES"]
    total = notified = 0
    for _ in range(max_batches):
        with transaction.atomic():
            done, queued = apply_batch(batch_size)
        total += done
        notified += queued
        if done < batch_size:
            break
    if notified:
        outbox_kick()
    if total:
        logger.info("sweep %s: %d bookings, %d notifications", name, total, notified)
    return SweepResult(name=name, count=total, notified=notified)


def _notify(booking_ids: list[int], kind: str) -> int:
    """Outbox rows in the caller's transaction; the unique (booking, kind) makes a second
    sweep's insert a no-op, so each driver hears of each thing once."""
    Notification.objects.bulk_create(
        [Notification(booking_id=i, kind=kind) for i in booking_ids], ignore_conflicts=True
    )
    return len(booking_ids)


def _expire_batch(
    due: QuerySet[Booking],
    *,
    now: datetime,
    reason: str,
    notify_kind: str | None,
    batch_size: int,
) -> tuple[int, int]:
    rows = _claim(due, batch_size)
    if not rows:
        return 0, 0
    ids = [row["id"] for row in rows]
    Booking.objects.filter(id__in=ids).update(status=BookingStatus.EXPIRED, updated_at=now)
    BookingEvent.objects.bulk_create(
        [
            BookingEvent(
                booking_id=row["id"],
                from_status=row["status"],
                to_status=BookingStatus.EXPIRED,
                actor=None,
                actor_kind="system",
                at=now,
                reason=reason,
            )
            for row in rows
        ]
    )
    notified = _notify(ids, notify_kind) if notify_kind else 0
    bump_on_commit({row["facility_id"] for row in rows})
    return len(rows), notified


# --- the sweeps ---------------------------------------------------------------------------


def sweep_expire_holds(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    """held → expired once hold_expires_at has passed. Silent: the booking was never
    confirmed, so the driver was told nothing to take back; the spot is freed for others."""
    now = now or timezone.now()
    return _run(
        "expire_holds",
        lambda size: _expire_batch(
            holds_due(now), now=now, reason="hold timed out", notify_kind=None, batch_size=size
        ),
        batch_size=batch_size,
        max_batches=max_batches,
    )


def sweep_expire_no_shows(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    """confirmed → expired once starts_at + the facility's grace has passed; the driver gets
    the "expired" notification."""
    now = now or timezone.now()
    return _run(
        "expire_no_shows",
        lambda size: _expire_batch(
            no_shows_due(now),
            now=now,
            reason="no-show: not checked in within the grace period",
            notify_kind=NotificationKind.EXPIRED,
            batch_size=size,
        ),
        batch_size=batch_size,
        max_batches=max_batches,
    )


def _notify_batch(due: QuerySet[Booking], *, kind: str, batch_size: int) -> tuple[int, int]:
    rows = _claim(due, batch_size)
    if not rows:
        return 0, 0
    notified = _notify([row["id"] for row in rows], kind)
    return len(rows), notified


def sweep_flag_overstays(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    """Active bookings past ends_at + grace get one "overstay" notification (the flag staff
    see); the fee itself is charged at check-out by the booking engine."""
    now = now or timezone.now()
    return _run(
        "flag_overstays",
        lambda size: _notify_batch(
            overstays_due(now), kind=NotificationKind.OVERSTAY, batch_size=size
        ),
        batch_size=batch_size,
        max_batches=max_batches,
    )


def sweep_start_reminders(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    now = now or timezone.now()
    return _run(
        "start_reminders",
        lambda size: _notify_batch(
            start_reminders_due(now), kind=NotificationKind.REMINDER_START, batch_size=size
        ),
        batch_size=batch_size,
        max_batches=max_batches,
    )


def sweep_ending_soon(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    now = now or timezone.now()
    return _run(
        "ending_soon",
        lambda size: _notify_batch(
            ending_soon_due(now), kind=NotificationKind.ENDING_SOON, batch_size=size
        ),
        batch_size=batch_size,
        max_batches=max_batches,
    )


def _anonymize_batch(*, now: datetime, batch_size: int) -> tuple[int, int]:
    rows = _claim(anonymization_due(now), batch_size)
    if not rows:
        return 0, 0
    ids = [row["id"] for row in rows]
    # Price, currency, times, spot and facility stay: they are the operator's books.
    Booking.objects.filter(id__in=ids).update(
        driver=None,
        vehicle=None,
        idempotency_key=None,
        request_fingerprint="",
        anonymized_at=now,
        updated_at=now,
    )
    BookingEvent.objects.filter(booking_id__in=ids, actor_kind="driver").update(actor=None)
    GateEvent.objects.filter(booking_id__in=ids).update(plate_normalized="")
    return len(rows), 0


def sweep_anonymize(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> SweepResult:
    """Drop the links to a person (driver, vehicle, the driver's events, plates the gates
    read) from bookings that ended more than RETENTION_DAYS ago."""
    now = now or timezone.now()
    return _run(
        "anonymize",
        lambda size: _anonymize_batch(now=now, batch_size=size),
        batch_size=batch_size,
        max_batches=max_batches,
    )


EXPIRY_SWEEPS: dict[str, Callable[..., SweepResult]] = {
    "expire_holds": sweep_expire_holds,
    "expire_no_shows": sweep_expire_no_shows,
    "flag_overstays": sweep_flag_overstays,
    "start_reminders": sweep_start_reminders,
    "ending_soon": sweep_ending_soon,
}
DUE: dict[str, Callable[[datetime], QuerySet[Booking]]] = {
    "expire_holds": holds_due,
    "expire_no_shows": no_shows_due,
    "flag_overstays": overstays_due,
    "start_reminders": start_reminders_due,
    "ending_soon": ending_soon_due,
}


# --- occupancy roll-up --------------------------------------------------------------------


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def occupancy_roll_up(*, hour: datetime, now: datetime | None = None) -> int:
    """Write (or rewrite) one OccupancyRollup row per active facility for the clock hour
    starting at ``hour``: three queries whatever the number of facilities and bookings."""
    now = now or timezone.now()
    start = hour_start(hour)
    end = start + timedelta(hours=1)
    facilities = Facility.objects.active().annotate(
        spots_total=Count(
            "spots", filter=Q(spots__is_active=True, spots__status=SpotStatus.AVAILABLE)
        )
    )
    overlap = ExpressionWrapper(
        Least(F("ends_at"), Value(end)) - Greatest(F("starts_at"), Value(start)),
        output_field=DurationField(),
    )
    usage = {
        row["facility_id"]: row
        for row in Booking.objects.filter(
            status__in=OCCUPYING_STATUSES, starts_at__lt=end, ends_at__gt=start
        )
        .values("facility_id")
        .annotate(
            spots_used=Count("spot_id", distinct=True),
            occupied=Sum(overlap),
            started=Count("id", filter=Q(starts_at__gte=start)),
        )
    }
    rows = []
    for facility in facilities.values("id", "spots_total"):
        used = usage.get(facility["id"], {})
        occupied = used.get("occupied") or timedelta(0)
        rows.append(
            OccupancyRollup(
                facility_id=facility["id"],
                hour=start,
                spots_total=facility["spots_total"],
                spots_used=used.get("spots_used", 0),
                occupied_minutes=int(occupied.total_seconds() // 60),
                bookings_started=used.get("started", 0),
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
