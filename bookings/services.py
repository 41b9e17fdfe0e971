"""The booking engine: every caller (API, admin, gate devices, tasks) goes through here.

Each write runs in one transaction that also records a BookingEvent and, where the driver
should hear of it, a Notification outbox row. PostgreSQL's exclusion constraints have the
last word on overlaps; the checks here exist to give people a clear answer first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from bookings.models import (
    LIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingStatus,
    NotificationKind,
)
from bookings.outbox import outbox_add
from bookings.selectors import LIVE_STATUSES_SQL, TAKEN_SPOT_IDS_SQL
from facilities.availability_cache import bump_on_commit
from facilities.models import Facility, RatePlan, Spot, SpotKind, SpotStatus, Zone
from facilities.pricing import window_price
from parkme import metrics
from parkme.errors import (
    BookingLimitReached,
    IdempotencyKeyReused,
    InvalidTransition,
    NoAvailability,
    NotFound,
    ParkMeError,
    ValidationFailed,
    VehicleBusy,
)
from parkme.models import User
from vehicles.models import Vehicle

logger = logging.getLogger(__name__)

# How many spots one request tries (each found free, then taken by a racing commit)
# before answering no_availability.
CANDIDATE_ATTEMPTS = 20

VEHICLE_SPOT_KINDS = {
    "car": [SpotKind.STANDARD, SpotKind.COMPACT, SpotKind.EV, SpotKind.ACCESSIBLE],
    "van": [SpotKind.STANDARD, SpotKind.ACCESSIBLE, SpotKind.EV],
    "motorcycle": [SpotKind.MOTORCYCLE, SpotKind.STANDARD, SpotKind.COMPACT],
}


def rules() -> dict:
    return settings.PARKME_BOOKING


# --- validation ---------------------------------------------------------------------------


def booking_window_validate(*, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """DESIGN.md booking rules for a window; raises ValidationFailed with field errors."""
    r = rules()
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    errors: dict[str, list[str]] = {}
    if ends_at <= starts_at:
        errors.setdefault("ends_at", []).append("ends_at must be after starts_at.")
    else:
        duration = ends_at - starts_at
        if duration < timedelta(minutes=r["MIN_MINUTES"]):
            errors.setdefault("ends_at", []).append(
                f"A booking lasts at least {r['MIN_MINUTES']} minutes."
            )
        if duration > timedelta(days=r["MAX_DAYS"]):
            errors.setdefault("ends_at", []).append(
                f"A booking lasts at most {r['MAX_DAYS']} days."
            )
    if starts_at < now - timedelta(minutes=r["START_GRACE_PAST_MINUTES"]):
        errors.setdefault("starts_at", []).append("starts_at is in the past.")
    if starts_at > now + timedelta(days=r["MAX_AHEAD_DAYS"]):
        errors.setdefault("starts_at", []).append(
            f"Bookings open at most {r['MAX_AHEAD_DAYS']} days ahead."
        )
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)


def active_rate_plan(facility: Facility) -> RatePlan:
    plan = RatePlan.objects.filter(facility=facility, is_active=True).first()
    if plan is None:
        raise NoAvailability("This facility takes no bookings right now (no active rate plan).")
    return plan


def booking_price(*, plan: RatePlan, facility: Facility, starts_at: datetime, ends_at: datetime):
    return window_price(
        rates=plan, starts_at=starts_at, ends_at=ends_at, timezone_name=facility.timezone
    )


# --- creation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    facility_id: int
    vehicle_id: int
    starts_at: datetime
    ends_at: datetime
    spot_kind: str | None = None
    hold: bool = False

    def fingerprint(self) -> str:
        body = {
            "facility": self.facility_id,
            "vehicle": self.vehicle_id,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "spot_kind": self.spot_kind,
            "hold": self.hold,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _record(
    *,
    booking: Booking,
    from_status: str,
    to_status: str,
    actor: User | None,
    actor_kind: str,
    at: datetime,
    reason: str = "",
) -> BookingEvent:
    return BookingEvent.objects.create(
        booking=booking,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_kind=actor_kind,
        at=at,
        reason=reason[:255],
    )


# Plain SQL on the booking path: composing these through the ORM cost more CPU than
# PostgreSQL spent running them.
_FREE_SPOT_SQL = f"""
    SELECT s.*, z.name AS zone_name, z.level AS zone_level
    FROM facilities_spot s JOIN facilities_zone z ON z.id = s.zone_id
    WHERE s.facility_id = %(facility)s AND s.kind = %(kind)s
      AND s.is_active AND s.status = '{SpotStatus.AVAILABLE.value}'
      AND s.id NOT IN ({TAKEN_SPOT_IDS_SQL})
    ORDER BY s.id
    LIMIT 1
    FOR UPDATE OF s
"""  # noqa: S608 - only constants are interpolated
_FREE_SPOT_SKIP_LOCKED_SQL = _FREE_SPOT_SQL + " SKIP LOCKED"
_VEHICLE_SQL = f"""
    SELECT v.*,
      (SELECT count(*) FROM bookings_booking b
       WHERE b.driver_id = %(driver)s AND b.status IN ({LIVE_STATUSES_SQL})) AS driver_live,
      EXISTS (
          SELECT 1 FROM bookings_booking b
          WHERE b.vehicle_id = v.id AND b.status IN ({LIVE_STATUSES_SQL})
            AND b.starts_at < %(ends_at)s AND b.ends_at > %(starts_at)s) AS busy
    FROM vehicles_vehicle v
    WHERE v.id = %(vehicle)s AND v.owner_id = %(driver)s AND v.is_active
"""  # noqa: S608 - only constants are interpolated


def _lock_a_free_spot(*, facility: Facility, kind: str, fields: dict, wait: bool) -> Spot | None:
    """One free spot of the kind for the window, locked, with its zone loaded."""
    params = {
        "facility": facility.pk,
        "facility_ids": [facility.pk],
        "kind": kind,
        "starts_at": fields["starts_at"],
        "ends_at": fields["ends_at"],
    }
    sql = _FREE_SPOT_SQL if wait else _FREE_SPOT_SKIP_LOCKED_SQL
    spot = next(iter(Spot.objects.raw(sql, params)), None)
    if spot is not None:
        spot.zone = Zone.from_db(
            Spot.objects.db,
            ["id", "facility_id", "name", "level"],
            [spot.zone_id, spot.facility_id, spot.zone_name, spot.zone_level],
        )
    return spot


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", "") or ""


class _SpotTakenMeanwhile(Exception):
    """A racing commit took the locked spot after this statement's snapshot: retry."""


def _insert_on_a_free_spot(*, facility: Facility, kind: str, fields: dict) -> Booking:
    """Lock one free spot (SKIP LOCKED: racing drivers fan out over different spots, and
    nobody holds spots it will not use), then insert. When every free spot is locked by
    bookings in flight (perhaps for other windows), wait for the first one instead of
    refusing. The exclusion constraint has the last word; if it still finds the spot
    taken, the whole attempt is retried."""
    spot = _lock_a_free_spot(facility=facility, kind=kind, fields=fields, wait=False)
    if spot is None:
        spot = _lock_a_free_spot(facility=facility, kind=kind, fields=fields, wait=True)
    if spot is None:
        raise NoAvailability()
    try:
        return Booking.objects.create(facility=facility, spot=spot, **fields)
    except IntegrityError as exc:
        constraint = _constraint_name(exc)
        if constraint == "booking_no_spot_overlap":
            raise _SpotTakenMeanwhile() from exc
        if constraint == "booking_no_vehicle_overlap":
            raise VehicleBusy() from exc
        raise


def booking_create(
    *,
    driver: User,
    request: BookingRequest,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[Booking, bool]:
    """Book a free spot; returns (booking, created). Same key + same body → same booking.
    The booking comes back with facility, spot (and zone) and vehicle loaded."""
    try:
        for _ in range(CANDIDATE_ATTEMPTS):
            try:
                booking, created = _booking_create(
                    driver=driver, request=request, idempotency_key=idempotency_key, now=now
                )
                break
            except _SpotTakenMeanwhile:
                continue
        else:
            raise NoAvailability()
    except ParkMeError as exc:
        metrics.record_booking_refused(exc.code)
        raise
    if created:
        metrics.record_booking_created()
    return booking, created


def _vehicle_with_counts(*, driver: User, request: BookingRequest) -> Vehicle | None:
    """The driver's vehicle, annotated with the driver's live bookings (driver_live) and
    whether this vehicle is already booked in the window (busy), in one query."""
    params = {
        "driver": driver.pk,
        "vehicle": request.vehicle_id,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
    }
    return next(iter(Vehicle.objects.raw(_VEHICLE_SQL, params)), None)


def _booking_create(
    *,
    driver: User,
    request: BookingRequest,
    idempotency_key: str | None,
    now: datetime | None,
) -> tuple[Booking, bool]:
    now = now or timezone.now()
    fingerprint = request.fingerprint()
    with transaction.atomic():
        # One driver's writes queue here: the live-booking cap and idempotent retries can
        # then never race each other, while different drivers proceed in parallel.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM parkme_user WHERE id = %s FOR UPDATE", [driver.pk])
        if idempotency_key:
            existing = (
                Booking.objects.select_related("facility", "spot__zone", "vehicle")
                .filter(driver=driver, idempotency_key=idempotency_key)
                .first()
            )
            if existing is not None:
                if existing.request_fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                return existing, False

        booking_window_validate(starts_at=request.starts_at, ends_at=request.ends_at, now=now)
        vehicle = _vehicle_with_counts(driver=driver, request=request)
        if vehicle is None:
            raise ValidationFailed(
                "Unknown vehicle.",
                fields={"vehicle": ["None of your active vehicles has this id."]},
            )
        plan = (
            RatePlan.objects.select_related("facility")
            .filter(facility_id=request.facility_id, facility__is_active=True, is_active=True)
            .first()
        )
        if plan is None:
            if not Facility.objects.filter(pk=request.facility_id, is_active=True).exists():
                raise ValidationFailed(
                    "Unknown facility.", fields={"facility": ["No active facility with this id."]}
                )
            raise NoAvailability("This facility takes no bookings right now (no rate plan).")
        facility = plan.facility
        kind = request.spot_kind or (
            SpotKind.MOTORCYCLE if vehicle.kind == "motorcycle" else SpotKind.STANDARD
        )
        if kind not in VEHICLE_SPOT_KINDS[vehicle.kind]:
            raise ValidationFailed(
                "This vehicle does not fit that kind of spot.",
                fields={"spot_kind": [f"A {vehicle.kind} cannot use a {kind} spot."]},
            )
        if vehicle.driver_live >= rules()["MAX_LIVE_PER_DRIVER"]:
            raise BookingLimitReached()
        if vehicle.busy:
            raise VehicleBusy()

        status = BookingStatus.HELD if request.hold else BookingStatus.CONFIRMED
        booking = _insert_on_a_free_spot(
            facility=facility,
            kind=kind,
            fields={
                "driver": driver,
                "vehicle": vehicle,
                "spot_kind": kind,
                "starts_at": request.starts_at,
                "ends_at": request.ends_at,
                "status": status,
                "price": booking_price(
                    plan=plan,
                    facility=facility,
                    starts_at=request.starts_at,
                    ends_at=request.ends_at,
                ),
                "currency": plan.currency,
                "hold_expires_at": (
                    now + timedelta(minutes=rules()["HOLD_MINUTES"]) if request.hold else None
                ),
                "idempotency_key": idempotency_key or None,
                "request_fingerprint": fingerprint,
            },
        )
        _record(
            booking=booking,
            from_status="",
            to_status=status,
            actor=driver,
            actor_kind="driver",
            at=now,
        )
        if status == BookingStatus.CONFIRMED:
            outbox_add(booking=booking, kind=NotificationKind.CONFIRMED)
        bump_on_commit([facility.id])
    logger.info("booking %s created (%s) at facility %s", booking.reference, status, facility.id)
    return booking, True


# --- transitions --------------------------------------------------------------------------


def _lock(booking: Booking) -> Booking:
    locked = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("facility")
        .filter(pk=booking.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    return locked


def _refuse(booking: Booking, action: str, why: str = "") -> InvalidTransition:
    message = f"Cannot {action} a booking that is {booking.status}."
    return InvalidTransition(f"{message} {why}".strip(), fields={"status": [booking.status]})


def _save_transition(
    booking: Booking,
    *,
    to_status: str,
    actor: User | None,
    actor_kind: str,
    now: datetime,
    reason: str = "",
    update_fields: list[str] | None = None,
) -> Booking:
    from_status = booking.status
    booking.status = to_status
    booking.save(update_fields=["status", "updated_at", *(update_fields or [])])
    _record(
        booking=booking,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_kind=actor_kind,
        at=now,
        reason=reason,
    )
    bump_on_commit([booking.facility_id])
    return booking


@transaction.atomic
def booking_confirm(
    *, booking: Booking, actor: User, actor_kind: str = "driver", now: datetime | None = None
) -> Booking:
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status != BookingStatus.HELD:
        raise _refuse(booking, "confirm")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise _refuse(booking, "confirm", "The hold has expired.")
    booking.hold_expires_at = None
    _save_transition(
        booking,
        to_status=BookingStatus.CONFIRMED,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        update_fields=["hold_expires_at"],
    )
    outbox_add(booking=booking, kind=NotificationKind.CONFIRMED)
    return booking


@transaction.atomic
def booking_cancel(
    *,
    booking: Booking,
    actor: User | None,
    actor_kind: str = "driver",
    reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Free before the start; after the start (no-show window) the price stands."""
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise _refuse(booking, "cancel")
    fields = ["hold_expires_at"]
    booking.hold_expires_at = None
    if now < booking.starts_at:
        booking.price = Decimal("0.00")
        fields.append("price")
    _save_transition(
        booking,
        to_status=BookingStatus.CANCELLED,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        reason=reason,
        update_fields=fields,
    )
    outbox_add(booking=booking, kind=NotificationKind.CANCELLED)
    return booking


@transaction.atomic
def booking_extend(
    *,
    booking: Booking,
    actor: User,
    ends_at: datetime,
    actor_kind: str = "driver",
    now: datetime | None = None,
) -> Booking:
    """Move the end later on the same spot; the spot must be free until the new end."""
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.ACTIVE):
        raise _refuse(booking, "extend")
    if ends_at <= booking.ends_at:
        raise ValidationFailed(
            "The new end must be after the current end.",
            fields={"ends_at": ["Must be later than the current end."]},
        )
    if ends_at <= now:
        raise ValidationFailed("The new end is in the past.", fields={"ends_at": ["In the past."]})
    if ends_at - booking.starts_at > timedelta(days=rules()["MAX_DAYS"]):
        raise ValidationFailed(
            f"A booking lasts at most {rules()['MAX_DAYS']} days.",
            fields={"ends_at": [f"At most {rules()['MAX_DAYS']} days after the start."]},
        )
    plan = active_rate_plan(booking.facility)
    # Bookings are created under the spot's row lock; taking it here too means a creation
    # and an extension on one spot queue up instead of deadlocking in the exclusion check.
    Spot.objects.select_for_update().only("id").get(pk=booking.spot_id)
    previous_end = booking.ends_at
    booking.ends_at = ends_at
    booking.price = booking_price(
        plan=plan, facility=booking.facility, starts_at=booking.starts_at, ends_at=ends_at
    )
    try:
        with transaction.atomic():
            booking.save(update_fields=["ends_at", "price", "updated_at"])
    except IntegrityError as exc:
        if _constraint_name(exc) == "booking_no_spot_overlap":
            raise NoAvailability("The spot is booked after the current end.") from exc
        if _constraint_name(exc) == "booking_no_vehicle_overlap":
            raise VehicleBusy() from exc
        raise
    _record(
        booking=booking,
        from_status=booking.status,
        to_status=booking.status,
        actor=actor,
        actor_kind=actor_kind,
        at=now,
        reason=f"extended from {previous_end.isoformat()}",
    )
    bump_on_commit([booking.facility_id])
    return booking


def check_in_window(booking: Booking) -> tuple[datetime, datetime]:
    early = timedelta(minutes=rules()["CHECK_IN_EARLY_MINUTES"])
    return booking.starts_at - early, booking.ends_at


@transaction.atomic
def booking_check_in(
    *,
    booking: Booking,
    actor: User | None,
    actor_kind: str = "driver",
    now: datetime | None = None,
) -> Booking:
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status != BookingStatus.CONFIRMED:
        raise _refuse(booking, "check in")
    opens, closes = check_in_window(booking)
    if not opens <= now < closes:
        raise InvalidTransition(
            "Check-in is open from "
            f"{opens.astimezone(booking.facility.tz).isoformat()} until "
            f"{closes.astimezone(booking.facility.tz).isoformat()}.",
            fields={"checked_in_at": ["Outside the check-in window."]},
        )
    booking.checked_in_at = now
    return _save_transition(
        booking,
        to_status=BookingStatus.ACTIVE,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        update_fields=["checked_in_at"],
    )


def overstay_fee(*, booking: Booking, plan: RatePlan, checked_out_at: datetime) -> Decimal:
    """Charged at the plan's rate from the booked end, once the grace period has passed."""
    if checked_out_at <= booking.ends_at + timedelta(minutes=plan.grace_minutes):
        return Decimal("0.00")
    return booking_price(
        plan=plan, facility=booking.facility, starts_at=booking.ends_at, ends_at=checked_out_at
    )


@transaction.atomic
def booking_check_out(
    *,
    booking: Booking,
    actor: User | None,
    actor_kind: str = "driver",
    now: datetime | None = None,
) -> Booking:
    now = now or timezone.now()
    booking = _lock(booking)
    if booking.status != BookingStatus.ACTIVE:
        raise _refuse(booking, "check out")
    plan = RatePlan.objects.filter(facility=booking.facility, is_active=True).first()
    booking.checked_out_at = now
    booking.overstay_fee = (
        overstay_fee(booking=booking, plan=plan, checked_out_at=now) if plan else Decimal("0.00")
    )
    return _save_transition(
        booking,
        to_status=BookingStatus.COMPLETED,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        update_fields=["checked_out_at", "overstay_fee"],
    )


__all__ = [
    "LIVE_STATUSES",
    "BookingRequest",
    "booking_cancel",
    "booking_check_in",
    "booking_check_out",
    "booking_confirm",
    "booking_create",
    "booking_extend",
]
