"""The demo's bookings (``manage.py seed_demo``): a day of traffic around the current hour.

Each line of PLAN happens the way it would in real life, through the booking engine with
its clock set to the moment each step took place: the driver books (bookings.services, so
the rate engine prices it and the cap, overlap and window rules apply), then arrives and
leaves at the gate (the demo gate device at Demo Central, the driver's own check-in and
check-out at Demo Harbor), cancels, or is expired by the no-show sweep. Events, webhook
deliveries and notifications are the ones those steps write; a notification is marked sent
at the moment of its step (it belongs to the past the demo replays, so the worker has no
backlog of e-mails to send on the first `make run`).

Windows are whole hours from the current hour (the anchor). Each booking's idempotency key
names its line of the plan and the anchor, so a run within the same hour finds every
booking in place (in its planned status) and changes nothing, and a run in a later hour
replaces the demo bookings with the same plan around the new hour. Bookings the demo
drivers make themselves (no demo key) are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from bookings.gate import gate_event_process
from bookings.models import (
    Booking,
    GateDirection,
    GateEvent,
    Notification,
    NotificationStatus,
)
from bookings.services import (
    BookingRequest,
    booking_cancel,
    booking_check_in,
    booking_check_out,
    booking_create,
)
from bookings.sweeps import SWEEPS
from bookings.transitions import Claimed
from facilities.models import Facility, SpotKind
from parkme.cache_versions import bump_on_commit
from parkme.errors import ParkMeError
from parkme.models import User
from vehicles.models import Vehicle

logger = logging.getLogger(__name__)

# The demo drivers and their vehicles (plate, kind). driver@parkme.demo (one of the
# documented logins) has one car, ABC-123; the others book the rest of the demo day.
DEMO_DRIVERS: dict[str, list[tuple[str, str]]] = {
    "driver@parkme.demo": [("ABC-123", "car")],
    "driver2@parkme.demo": [("HEL-202", "car")],
    "driver3@parkme.demo": [("ESP-303", "car"), ("VAN-330", "van")],
    "driver4@parkme.demo": [("TKU-404", "car")],
    "driver5@parkme.demo": [("MC-505", "motorcycle")],
    "driver6@parkme.demo": [("OUL-606", "car"), ("EV-616", "car")],
}
# Demo Central's gate device lets cars in and out there (Demo Harbor has no gate device).
GATE_DEVICE = "gate@central.demo"
KEY_PREFIX = "demo:"

# Shapes: what happens to a booking, and the status it ends in.
DONE = "completed"  # arrived and left
PARKED = "active"  # arrived, still inside
BOOKED = "confirmed"  # not arrived yet
CANCELLED = "cancelled"  # the driver cancelled before the start
NO_SHOW = "expired"  # never came: the no-show sweep expired it


@dataclass(frozen=True)
class Planned:
    key: str
    plate: str
    facility: str  # slug
    start: int  # hours from the anchor
    hours: int
    shape: str
    spot_kind: str | None = None  # None: the vehicle's default
    overstay_minutes: int = 0  # DONE: left this long after the end (else 10 minutes early)


# Per vehicle no two windows overlap (a car is in one place at a time), and no driver has
# more than four live bookings: room under the cap of five to try the API. ABC-123 keeps
# tomorrow clear (the README books it tomorrow morning).
PLAN: tuple[Planned, ...] = (
    Planned("d1-yesterday", "ABC-123", "kamppi-center", -26, 3, DONE),
    Planned("d1-cancelled", "ABC-123", "kamppi-center", -10, 2, CANCELLED),
    Planned("d1-in-3-days", "ABC-123", "kamppi-center", 70, 2, BOOKED),
    Planned("d2-yesterday", "HEL-202", "central-station", -30, 4, DONE),
    Planned("d2-parked", "HEL-202", "kamppi-center", -2, 4, PARKED),
    Planned("d2-tonight", "HEL-202", "kamppi-center", 6, 3, BOOKED),
    Planned("d2-tomorrow", "HEL-202", "kamppi-center", 22, 4, BOOKED),
    Planned("d3-overstayed", "ESP-303", "kamppi-center", -5, 2, DONE, overstay_minutes=25),
    Planned("d3-parked", "ESP-303", "kamppi-center", -1, 6, PARKED),
    Planned("d3-tomorrow", "ESP-303", "central-station", 26, 3, BOOKED),
    Planned("d3-van-parked", "VAN-330", "west-harbor", -3, 5, PARKED),
    Planned("d3-van-later", "VAN-330", "west-harbor", 3, 2, BOOKED),
    Planned("d4-morning", "TKU-404", "kamppi-center", -8, 1, DONE),
    Planned("d4-no-show", "TKU-404", "kamppi-center", -5, 2, NO_SHOW),
    Planned("d4-soon", "TKU-404", "kamppi-center", 1, 2, BOOKED),
    Planned("d4-harbor", "TKU-404", "katajanokka", 4, 2, BOOKED),
    Planned("d4-tomorrow", "TKU-404", "kamppi-center", 24, 3, BOOKED),
    Planned("d5-parked", "MC-505", "kamppi-center", -3, 4, PARKED),
    Planned("d5-later", "MC-505", "kamppi-center", 2, 3, BOOKED),
    Planned("d5-cancelled", "MC-505", "west-harbor", 24, 3, CANCELLED),
    Planned("d5-tomorrow", "MC-505", "kamppi-center", 28, 2, BOOKED),
    Planned("d6-morning", "OUL-606", "kamppi-center", -9, 2, DONE),
    Planned("d6-parked", "OUL-606", "central-station", -4, 8, PARKED),
    Planned("d6-tomorrow", "OUL-606", "kamppi-center", 20, 3, BOOKED),
    Planned("d6-ev-no-show", "EV-616", "katajanokka", -7, 2, NO_SHOW, SpotKind.EV),
    Planned("d6-ev-parked", "EV-616", "kamppi-center", -1, 4, PARKED, SpotKind.EV),
    Planned("d6-ev-cancelled", "EV-616", "kamppi-center", 5, 2, CANCELLED, SpotKind.EV),
)


def _crowd() -> tuple[dict[str, list[tuple[str, str]]], tuple[Planned, ...]]:
    """CROWD more drivers (driver7@parkme.demo and on), one car each, so the facilities look
    busy: each parked now or just gone, back later today or tonight, and again tomorrow;
    mostly at Kamppi Center, some at Central Station. Three bookings each, at most three
    live, never overlapping."""
    drivers: dict[str, list[tuple[str, str]]] = {}
    plan: list[Planned] = []
    for i in range(CROWD):
        n = i + 7
        plate = f"DMO-{n:03d}"
        drivers[f"driver{n}@parkme.demo"] = [(plate, "car")]
        start = -1 - i % 5  # -1 … -5
        end = start + 3 + i % 6  # -2 … +7
        plan.append(
            Planned(
                f"c{n}-now", plate, "kamppi-center", start, end - start, PARKED if end > 0 else DONE
            )
        )
        later = max(end, 0) + 1 + i % 4
        plan.append(
            Planned(
                f"c{n}-later",
                plate,
                "central-station" if i % 3 == 0 else "kamppi-center",
                later,
                2 + i % 3,
                BOOKED,
            )
        )
        plan.append(
            Planned(
                f"c{n}-tomorrow",
                plate,
                "central-station" if i % 4 == 0 else "kamppi-center",
                22 + (i * 3) % 8,
                2 + i % 4,
                BOOKED,
            )
        )
    return drivers, tuple(plan)


CROWD = 20
_CROWD_DRIVERS, _CROWD_PLAN = _crowd()
DEMO_DRIVERS.update(_CROWD_DRIVERS)
PLAN = PLAN + _CROWD_PLAN

# Lifecycles that end first: each is over before the next booking is made, so only the
# bookings that stay live count against the cap and hold their spots.
_ORDER = {DONE: 0, NO_SHOW: 0, CANCELLED: 0, PARKED: 1, BOOKED: 2}


def demo_anchor(now: datetime) -> datetime:
    """The current hour: every demo window is whole hours from it."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def demo_key(planned: Planned, anchor: datetime) -> str:
    return f"{KEY_PREFIX}{planned.key}:{anchor:%Y%m%dT%H}Z"


def demo_bookings() -> QuerySet[Booking]:
    """Every booking the demo made (any anchor)."""
    return Booking.objects.filter(
        idempotency_key__startswith=KEY_PREFIX, driver__email__in=list(DEMO_DRIVERS)
    )


def demo_drivers_seed(password: str) -> dict[str, Vehicle]:
    """The demo drivers (with the demo password) and their vehicles, by plate."""
    vehicles: dict[str, Vehicle] = {}
    for email, cars in DEMO_DRIVERS.items():
        driver = User.objects.filter(email=email).first()
        if driver is None:
            driver = User.objects.create_user(email=email, password=password)
        for plate, kind in cars:
            vehicle = Vehicle.objects.filter(owner=driver, plate=plate, is_active=True).first()
            if vehicle is None:
                vehicle = Vehicle.objects.create(owner=driver, plate=plate, kind=kind)
            vehicles[plate] = vehicle
    return vehicles


class _Refused(Exception):
    """A step of a demo booking did not happen as planned (the data of this database
    refused it): the booking is left out."""


def _notifications_sent(booking: Booking, at: datetime) -> None:
    """The step's notifications were written and sent at its moment, in the demo's past."""
    Notification.objects.filter(booking=booking, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SENT, created_at=at, sent_at=at
    )


def _pass(booking: Booking, plate: str, at: datetime, gate: User | None, direction: str) -> None:
    """The car enters or leaves: through the gate device when the facility has one, else
    the driver checks in or out in the app."""
    if gate is not None:
        gate_event_process(
            device=gate, facility=booking.facility, plate=plate, direction=direction, now=at
        )
    elif direction == GateDirection.ENTRY:
        booking_check_in(booking=booking, actor=booking.driver, now=at)
    else:
        booking_check_out(booking=booking, actor=booking.driver, now=at)


def _play(
    planned: Planned,
    *,
    anchor: datetime,
    vehicle: Vehicle,
    facility: Facility,
    gate: User | None,
) -> Booking:
    """Make one planned booking, step by step at the moments they happen; ``gate`` is the
    facility's gate device (None: the driver checks in and out in the app)."""
    starts_at = anchor + timedelta(hours=planned.start)
    ends_at = starts_at + timedelta(hours=planned.hours)
    booked_at = min(starts_at - timedelta(days=1), anchor - timedelta(minutes=45))
    driver = vehicle.owner
    booking, _ = booking_create(
        driver=driver,
        request=BookingRequest(
            facility_id=facility.pk,
            vehicle_id=vehicle.pk,
            starts_at=starts_at,
            ends_at=ends_at,
            spot_kind=planned.spot_kind,
        ),
        idempotency_key=demo_key(planned, anchor),
        now=booked_at,
    )
    _notifications_sent(booking, booked_at)
    if planned.shape in (DONE, PARKED):
        _pass(booking, vehicle.plate, starts_at + timedelta(minutes=5), gate, GateDirection.ENTRY)
    if planned.shape == DONE:
        left_at = ends_at + timedelta(minutes=planned.overstay_minutes or -10)
        _pass(booking, vehicle.plate, left_at, gate, GateDirection.EXIT)
    elif planned.shape == CANCELLED:
        cancelled_at = min(starts_at - timedelta(hours=3), anchor - timedelta(minutes=30))
        booking_cancel(booking=booking, actor=driver, reason="Plans changed", now=cancelled_at)
        _notifications_sent(booking, cancelled_at)
    elif planned.shape == NO_SHOW:
        swept_at = starts_at + timedelta(minutes=30)  # past the board's grace (15 minutes)
        sweep = SWEEPS["expire_no_shows"]
        rows = [
            Claimed(*row)
            for row in sweep.due(swept_at)
            .filter(pk=booking.pk)
            .select_for_update(of=("self",))
            .values_list("id", "facility_id", "status")
        ]
        sweep.apply(rows, swept_at)
        _notifications_sent(booking, swept_at)
    booking.refresh_from_db()
    if booking.status != planned.shape:
        raise _Refused(f"{planned.key} ended {booking.status}, not {planned.shape}")
    return booking


def demo_bookings_seed(*, now: datetime, vehicles: dict[str, Vehicle]) -> dict[str, int]:
    """Bring the demo bookings to PLAN around ``now``'s hour: keep those in place, replace
    the rest. Returns how many were kept, made, removed and left out (refused)."""
    anchor = demo_anchor(now)
    wanted = {demo_key(p, anchor): p for p in PLAN}
    existing = list(demo_bookings().only("id", "idempotency_key", "status", "facility_id"))
    in_place = {
        b.idempotency_key
        for b in existing
        if b.idempotency_key in wanted and b.status == wanted[b.idempotency_key].shape
    }
    stale = [b for b in existing if b.idempotency_key not in in_place]
    if stale:
        ids = [b.pk for b in stale]
        GateEvent.objects.filter(booking_id__in=ids).delete()
        Booking.objects.filter(pk__in=ids).delete()
        bump_on_commit({b.facility_id for b in stale})

    facilities = {
        f.slug: f
        for f in Facility.objects.filter(
            slug__in={p.facility for p in PLAN}, operator__name__startswith="Demo "
        ).select_related("operator")
    }
    gate = User.objects.filter(email=GATE_DEVICE).first()
    gate_operators = set(gate.memberships.values_list("operator_id", flat=True)) if gate else set()
    made = refused = 0
    for planned in sorted(PLAN, key=lambda p: (_ORDER[p.shape], p.start)):
        if demo_key(planned, anchor) in in_place:
            continue
        try:
            with transaction.atomic():
                facility = facilities[planned.facility]
                _play(
                    planned,
                    anchor=anchor,
                    vehicle=vehicles[planned.plate],
                    facility=facility,
                    gate=gate if facility.operator_id in gate_operators else None,
                )
            made += 1
        except (ParkMeError, _Refused) as exc:
            # E.g. a demo driver booked that car over the planned window meanwhile.
            refused += 1
            logger.warning("demo booking %s left out: %s", planned.key, exc)
    return {
        "kept": len(in_place),
        "made": made,
        "removed": len(stale),
        "refused": refused,
    }
