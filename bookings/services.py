"""The booking engine: every caller (API, admin, gate devices, tasks) goes through here.

Each write runs in one transaction that also records a BookingEvent and, where the driver
should hear of it, a Notification outbox row. PostgreSQL's exclusion constraints have the
last word on overlaps; the checks here exist to give people a clear answer first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from bookings import transitions
from bookings.allocations import (
    ALLOCATIONS_JSON_SQL,
    ALLOCATIONS_SHARED_LOCK_SQL,
    allocations_lock_shared,
    allocations_parse,
    lock_key,
)
from bookings.availability import free_spot_lock, permit_allocation_guard
from bookings.models import Booking, NotificationKind
from bookings.outbox import outbox_add
from bookings.selectors import booking_rate_version, extension_check
from bookings.states import (
    LIVE_STATUSES_SQL,
    Action,
    ActorKind,
    BookingStatus,
)
from facilities.boards import board_of, cancellation_fee, price_lines_dump
from facilities.models import Facility, RateVersion, Spot, SpotKind
from facilities.quotes import QuotedPrice, quote_token_read
from facilities.rating import price_window, split_vat
from facilities.selectors import rate_version_in_force
from facilities.windows import Window, booking_rules, window_validate
from parkme import metrics
from parkme.db import constraint_errors
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


def _priced(version: RateVersion, *, starts_at: datetime, ends_at: datetime, kind: str) -> dict:
    """The booking fields a price sets: total, currency, VAT, lines and the version."""
    price = price_window(board_of(version), starts_at=starts_at, ends_at=ends_at, kind=kind)
    return {
        "price": price.total,
        "currency": price.currency,
        "price_vat": price.vat,
        "price_lines": price_lines_dump(price),
        "rate_version": version,
    }


def _priced_as_quoted(quoted: QuotedPrice, version: RateVersion, *, kind: str) -> dict:
    """A quote token keeps its total: the lines come from the quoted version, and when
    the board changed since, one more line brings them back to the quoted total."""
    if quoted.version_id != version.pk:
        version = RateVersion.objects.select_related("facility").get(pk=quoted.version_id)
    fields = _priced(
        version, starts_at=quoted.window.starts_at, ends_at=quoted.window.ends_at, kind=kind
    )
    difference = quoted.total - fields["price"]
    if difference:
        fields["price_lines"].append(
            {
                "label": "Quoted price kept",
                "starts_at": quoted.window.starts_at.astimezone(version.facility.tz).isoformat(),
                "ends_at": quoted.window.ends_at.astimezone(version.facility.tz).isoformat(),
                "units": 1,
                "unit_price": str(difference),
                "amount": str(difference),
            }
        )
    _, vat = split_vat(quoted.total, Decimal(version.vat_percent))
    return {**fields, "price": quoted.total, "currency": quoted.currency, "price_vat": vat}


# --- creation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    facility_id: int
    vehicle_id: int
    starts_at: datetime
    ends_at: datetime
    spot_kind: str | None = None
    hold: bool = False
    quote_token: str | None = None

    def fingerprint(self) -> str:
        body = {
            "facility": self.facility_id,
            "vehicle": self.vehicle_id,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "spot_kind": self.spot_kind,
            "hold": self.hold,
            "quote_token": self.quote_token,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


# Plain SQL on the booking path: composing this through the ORM cost more CPU than
# PostgreSQL spent running it.
_VEHICLE_SQL = f"""
    SELECT v.*,
      (SELECT count(*) FROM bookings_booking b
       WHERE b.driver_id = %(driver)s AND b.status IN ({LIVE_STATUSES_SQL})) AS driver_live,
      EXISTS (
          SELECT 1 FROM bookings_booking b
          WHERE b.vehicle_id = v.id AND b.status IN ({LIVE_STATUSES_SQL})
            AND b.starts_at < %(ends_at)s AND b.ends_at > %(starts_at)s) AS busy,
      {ALLOCATIONS_JSON_SQL} AS allocations
    FROM vehicles_vehicle v
    WHERE v.id = %(vehicle)s AND v.owner_id = %(driver)s AND v.is_active
"""  # noqa: S608 - only constants are interpolated


class _SpotTakenMeanwhile(Exception):
    """A racing commit took the locked spot after this statement's snapshot: retry."""


def _spot_taken_meanwhile() -> Exception:
    return _SpotTakenMeanwhile()


# The exclusion constraints have the last word on overlaps.
_OVERLAP_ERRORS = {
    "booking_no_spot_overlap": _spot_taken_meanwhile,
    "booking_no_vehicle_overlap": VehicleBusy,
}


def _insert_on_a_free_spot(*, facility: Facility, kind: str, fields: dict) -> Booking:
    """Lock one free spot (SKIP LOCKED: racing drivers fan out over different spots, and
    nobody holds spots it will not use), then insert. When every free spot is locked by
    bookings in flight (perhaps for other windows), wait for the first one instead of
    refusing. The exclusion constraint has the last word; if it still finds the spot
    taken, the whole attempt is retried."""
    window = Window(fields["starts_at"], fields["ends_at"])
    spot = free_spot_lock(facility=facility, kind=kind, window=window, wait=False)
    if spot is None:
        spot = free_spot_lock(facility=facility, kind=kind, window=window, wait=True)
    if spot is None:
        raise NoAvailability()
    # No savepoint: a violation ends this attempt's transaction, and the caller retries.
    with constraint_errors(_OVERLAP_ERRORS, savepoint=False):
        return Booking.objects.create(facility=facility, spot=spot, **fields)


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
    """The driver's vehicle, annotated with the driver's live bookings (driver_live),
    whether this vehicle is already booked in the window (busy) and the facility's permit
    allocations (allocations), in one query."""
    params = {
        "driver": driver.pk,
        "vehicle": request.vehicle_id,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "facility_ids": [request.facility_id],
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
    rules = booking_rules()
    with transaction.atomic():
        # One driver's writes queue here: the live-booking cap and idempotent retries can
        # then never race each other, while different drivers proceed in parallel. The same
        # statement takes the facility's shared allocations lock (bookings.allocations).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {ALLOCATIONS_SHARED_LOCK_SQL} FROM parkme_user "  # noqa: S608
                "WHERE id = %(driver)s FOR UPDATE",
                {"driver": driver.pk, "lock_key": lock_key(request.facility_id)},
            )
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

        window_validate(starts_at=request.starts_at, ends_at=request.ends_at, now=now)
        vehicle = _vehicle_with_counts(driver=driver, request=request)
        if vehicle is None:
            raise ValidationFailed(
                "Unknown vehicle.",
                fields={"vehicle": ["None of your active vehicles has this id."]},
            )
        version = rate_version_in_force(facility_id=request.facility_id, at=request.starts_at)
        facility = version.facility
        kind = request.spot_kind or (
            SpotKind.MOTORCYCLE if vehicle.kind == "motorcycle" else SpotKind.STANDARD
        )
        if kind not in VEHICLE_SPOT_KINDS[vehicle.kind]:
            raise ValidationFailed(
                "This vehicle does not fit that kind of spot.",
                fields={"spot_kind": [f"A {vehicle.kind} cannot use a {kind} spot."]},
            )
        if vehicle.driver_live >= rules["MAX_LIVE_PER_DRIVER"]:  # type: ignore[attr-defined]
            raise BookingLimitReached()
        if vehicle.busy:  # type: ignore[attr-defined]
            raise VehicleBusy()
        permit_allocation_guard(
            facility_id=facility.pk,
            kind=kind,
            window=Window(request.starts_at, request.ends_at),
            allocations=allocations_parse(vehicle.allocations),  # type: ignore[attr-defined]
        )

        creation = transitions.creation(hold=request.hold)
        booking = _insert_on_a_free_spot(
            facility=facility,
            kind=kind,
            fields={
                "driver": driver,
                "vehicle": vehicle,
                "spot_kind": kind,
                "starts_at": request.starts_at,
                "ends_at": request.ends_at,
                "status": creation.to_status,
                **(
                    _priced_as_quoted(
                        quote_token_read(
                            request.quote_token,
                            facility_id=facility.pk,
                            window=Window(request.starts_at, request.ends_at),
                            kind=kind,
                        ),
                        version,
                        kind=kind,
                    )
                    if request.quote_token
                    else _priced(
                        version, starts_at=request.starts_at, ends_at=request.ends_at, kind=kind
                    )
                ),
                "hold_expires_at": (
                    now + timedelta(minutes=rules["HOLD_MINUTES"]) if request.hold else None
                ),
                "idempotency_key": idempotency_key or None,
                "request_fingerprint": fingerprint,
            },
        )
        transitions.booking_created(booking=booking, transition=creation, actor=driver, now=now)
        if booking.status == BookingStatus.CONFIRMED:
            outbox_add(booking=booking, kind=NotificationKind.CONFIRMED)
    logger.info(
        "booking %s created (%s) at facility %s", booking.reference, booking.status, facility.id
    )
    return booking, True


# --- transitions --------------------------------------------------------------------------


def _locked(booking: Booking) -> Booking:
    """The booking re-read under its row lock: every transition decides on fresh state."""
    locked = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("facility", "spot__zone", "vehicle", "rate_version")
        .filter(pk=booking.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    return locked


def _refuse(booking: Booking, message: str, **fields: list[str]) -> InvalidTransition:
    return InvalidTransition(message, fields=fields or {"status": [booking.status]})


# What a move changes besides the status: (locked booking, now) → the fields it set.
Change = Callable[[Booking, datetime], list[str]]


def _move(
    *,
    booking: Booking,
    action: str,
    actor: User | None,
    actor_kind: str,
    now: datetime | None,
    change: Change,
    reason: str = "",
) -> Booking:
    """Lock the booking, apply ``change`` and make the move through the state machine (one
    transaction: the caller's)."""
    now = now or timezone.now()
    booking = _locked(booking)
    fields = change(booking, now)
    return transitions.booking_transition(
        booking=booking,
        action=action,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        reason=reason,
        update_fields=fields,
    )


def _confirm_hold(booking: Booking, now: datetime) -> list[str]:
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise _refuse(
            booking, f"Cannot confirm a booking that is {booking.status}. The hold has expired."
        )
    booking.hold_expires_at = None
    return ["hold_expires_at"]


@transaction.atomic
def booking_confirm(
    *,
    booking: Booking,
    actor: User,
    actor_kind: str = ActorKind.DRIVER,
    now: datetime | None = None,
) -> Booking:
    booking = _move(
        booking=booking,
        action=Action.CONFIRM,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        change=_confirm_hold,
    )
    outbox_add(booking=booking, kind=NotificationKind.CONFIRMED)
    return booking


def _release(booking: Booking, now: datetime) -> list[str]:
    """The fee of the version's cancellation policy; the refund due is the price less it."""
    booking.hold_expires_at = None
    booking.cancellation_fee = cancellation_fee(
        booking_rate_version(booking), price=booking.price, starts_at=booking.starts_at, at=now
    )
    return ["hold_expires_at", "cancellation_fee"]


@transaction.atomic
def booking_cancel(
    *,
    booking: Booking,
    actor: User | None,
    actor_kind: str = ActorKind.DRIVER,
    reason: str = "",
    now: datetime | None = None,
) -> Booking:
    booking = _move(
        booking=booking,
        action=Action.CANCEL,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        change=_release,
        reason=reason,
    )
    outbox_add(booking=booking, kind=NotificationKind.CANCELLED)
    return booking


@transaction.atomic
def booking_extend(
    *,
    booking: Booking,
    actor: User,
    ends_at: datetime,
    actor_kind: str = ActorKind.DRIVER,
    now: datetime | None = None,
) -> Booking:
    """Move the end later on the same spot; the spot must be free until the new end."""
    now = now or timezone.now()
    booking = _locked(booking)
    extension_check(booking=booking, ends_at=ends_at, now=now, actor_kind=actor_kind)
    version = booking_rate_version(booking)
    allocations_lock_shared(facility_id=booking.facility_id)
    permit_allocation_guard(
        facility_id=booking.facility_id,
        kind=booking.spot_kind,
        window=Window(booking.ends_at, ends_at),
    )
    # Bookings are created under the spot's row lock; taking it here too means a creation
    # and an extension on one spot queue up instead of deadlocking in the exclusion check.
    Spot.objects.select_for_update().only("id").get(pk=booking.spot_id)
    previous_end = booking.ends_at
    booking.ends_at = ends_at
    priced = _priced(version, starts_at=booking.starts_at, ends_at=ends_at, kind=booking.spot_kind)
    for field, value in priced.items():
        setattr(booking, field, value)
    with constraint_errors(
        {
            "booking_no_spot_overlap": lambda: NoAvailability(
                "The spot is booked after the current end."
            ),
            "booking_no_vehicle_overlap": VehicleBusy,
        }
    ):
        transitions.booking_transition(
            booking=booking,
            action=Action.EXTEND,
            actor=actor,
            actor_kind=actor_kind,
            now=now,
            reason=f"extended from {previous_end.isoformat()}",
            update_fields=["ends_at", *priced],
        )
    return booking


def check_in_window(booking: Booking) -> tuple[datetime, datetime]:
    early = timedelta(minutes=booking_rules()["CHECK_IN_EARLY_MINUTES"])
    return booking.starts_at - early, booking.ends_at


def _arrive(booking: Booking, now: datetime) -> list[str]:
    if booking.status == BookingStatus.CONFIRMED:
        opens, closes = check_in_window(booking)
        if not opens <= now < closes:
            tz = booking.facility.tz
            raise _refuse(
                booking,
                f"Check-in is open from {opens.astimezone(tz).isoformat()} until "
                f"{closes.astimezone(tz).isoformat()}.",
                checked_in_at=["Outside the check-in window."],
            )
    booking.checked_in_at = now
    return ["checked_in_at"]


@transaction.atomic
def booking_check_in(
    *,
    booking: Booking,
    actor: User | None,
    actor_kind: str = ActorKind.DRIVER,
    now: datetime | None = None,
) -> Booking:
    return _move(
        booking=booking,
        action=Action.CHECK_IN,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        change=_arrive,
    )


def overstay_fee(*, booking: Booking, version: RateVersion, checked_out_at: datetime) -> Decimal:
    """The time past the booked end, priced by the booking's rate version (the same engine
    and board), once the version's grace period has passed."""
    if checked_out_at <= booking.ends_at + timedelta(minutes=version.grace_minutes):
        return Decimal("0.00")
    return price_window(
        board_of(version), starts_at=booking.ends_at, ends_at=checked_out_at, kind=booking.spot_kind
    ).total


def _leave(booking: Booking, now: datetime) -> list[str]:
    if booking.status == BookingStatus.ACTIVE:
        try:
            version: RateVersion | None = booking_rate_version(booking)
        except ParkMeError:
            version = None  # no rate in force any more: no rate to charge the overstay at
        booking.overstay_fee = (
            overstay_fee(booking=booking, version=version, checked_out_at=now)
            if version
            else Decimal("0.00")
        )
    booking.checked_out_at = now
    return ["checked_out_at", "overstay_fee"]


@transaction.atomic
def booking_check_out(
    *,
    booking: Booking,
    actor: User | None,
    actor_kind: str = ActorKind.DRIVER,
    now: datetime | None = None,
) -> Booking:
    return _move(
        booking=booking,
        action=Action.CHECK_OUT,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        change=_leave,
    )


def vehicle_live_bookings_block_removal(vehicle: Vehicle) -> str | None:
    """A vehicle with live bookings may not be removed: installed as a removal check of
    vehicles.services when the bookings app starts (bookings.apps)."""
    if Booking.objects.live().filter(vehicle=vehicle).exists():
        return "This vehicle has live bookings; cancel or finish them first."
    return None
