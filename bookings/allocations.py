"""Spaces allocated to permit products, withheld from bookings while the products' hours
are in force: the one home of that rule.

For a window and a spot kind, a product *withholds* its ``allocated_spaces`` when its hours
are in force at any moment of the window (on sale or not: its holders still need them).
Bookable availability is then free spots − withheld spaces, never below zero; search,
detail and the booking engine all read it from here.

Race safety, in PostgreSQL: every booking takes a shared advisory lock on its facility's
allocations (``ALLOCATIONS``) before it reads them; changing an allocation takes it
exclusively, so a booking never decides on allocations that are being changed, and an
allocation change sees every booking committed before it. A booking whose window meets an
allocation of its kind also takes the facility's booking-capacity lock (``CAPACITY``,
exclusive), so two such bookings never both take "the last free space": each counts free
spots after the one before it committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection

from bookings.permit_hours import Hours, hours_intervals, hours_of
from bookings.states import LIVE_STATUSES_SQL
from facilities.models import BOOKABLE_SPOT_SQL
from facilities.windows import Window

# Advisory lock namespaces (first int4 key; the second is the facility id).
ALLOCATIONS = 72_001
CAPACITY = 72_002
_INT4 = 2_147_483_647

# The allocations of %(facility_ids)s, one row per product with its hours as JSON.
ALLOCATION_ROWS_SQL = """
    SELECT p.facility_id, p.id AS product_id, p.spot_kind, p.allocated_spaces,
           f.timezone,
           coalesce((SELECT json_agg(json_build_object(
                         'weekdays', h.weekdays, 'starts', h.starts, 'ends', h.ends))
                     FROM bookings_permithours h WHERE h.product_id = p.id), '[]'::json)
               AS hours
    FROM bookings_permitproduct p JOIN facilities_facility f ON f.id = p.facility_id
    WHERE p.facility_id = ANY(%(facility_ids)s) AND p.allocated_spaces > 0
"""
# The same rows as one JSON array (or null), for embedding in another statement.
ALLOCATIONS_JSON_SQL = f"(SELECT json_agg(a) FROM ({ALLOCATION_ROWS_SQL}) a)"  # noqa: S608


@dataclass(frozen=True)
class Allocation:
    facility_id: int
    product_id: int
    kind: str
    spaces: int
    tz: ZoneInfo
    hours: Hours

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Allocation:
        hours = row["hours"]
        return cls(
            facility_id=row["facility_id"],
            product_id=row["product_id"],
            kind=row["spot_kind"],
            spaces=row["allocated_spaces"],
            tz=ZoneInfo(row["timezone"]),
            hours=hours_of(json.loads(hours) if isinstance(hours, str) else hours),
        )

    def in_force_during(self, window: Window) -> bool:
        return bool(hours_intervals(self.hours, self.tz, window.starts_at, window.ends_at))


def allocations_parse(value: Any) -> list[Allocation]:
    """Allocations from ALLOCATIONS_JSON_SQL's column (a JSON array, a list, or null)."""
    rows = json.loads(value) if isinstance(value, str) else (value or [])
    return [Allocation.from_row(row) for row in rows]


def allocations_read(*, facility_ids: list[int]) -> list[Allocation]:
    if not facility_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(ALLOCATION_ROWS_SQL, {"facility_ids": facility_ids})
        columns = [c.name for c in cursor.description]
        return [Allocation.from_row(dict(zip(columns, row, strict=True))) for row in cursor]


def withheld_spaces(
    allocations: list[Allocation], window: Window, *, kind: str | None = None
) -> dict[tuple[int, str], int]:
    """Spaces withheld per (facility, kind) for the window (only ``kind``, if given)."""
    withheld: dict[tuple[int, str], int] = {}
    for allocation in allocations:
        if kind is not None and allocation.kind != kind:
            continue
        if allocation.in_force_during(window):
            key = (allocation.facility_id, allocation.kind)
            withheld[key] = withheld.get(key, 0) + allocation.spaces
    return withheld


# --- locks --------------------------------------------------------------------------------


def _key(facility_id: int) -> int:
    return facility_id % _INT4


# A booking's first statement takes this with its driver-row lock (see bookings.services).
ALLOCATIONS_SHARED_LOCK_SQL = f"pg_advisory_xact_lock_shared({ALLOCATIONS}, %(lock_key)s)"


def lock_key(facility_id: int) -> int:
    return _key(facility_id)


def allocations_lock_shared(*, facility_id: int) -> None:
    """Held by every booking write at the facility, to the end of the transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {ALLOCATIONS_SHARED_LOCK_SQL}",  # noqa: S608 - a constant
            {"lock_key": _key(facility_id)},
        )


def allocations_lock_exclusive(*, facility_id: int) -> None:
    """Held by whoever changes a facility's allocations, to the end of the transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ALLOCATIONS, _key(facility_id)])


def capacity_lock(*, facility_id: int) -> None:
    """Serialises bookings that compete with an allocation at one facility."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CAPACITY, _key(facility_id)])


# --- can the allocations be honoured? -----------------------------------------------------

_LIVE_OF_KIND_SQL = f"""
    SELECT b.starts_at, b.ends_at FROM bookings_booking b JOIN facilities_spot s
      ON s.id = b.spot_id
    WHERE b.facility_id = %(facility)s AND b.status IN ({LIVE_STATUSES_SQL})
      AND s.kind = %(kind)s AND b.ends_at > %(now)s
"""  # noqa: S608 - only constants are interpolated
_BOOKABLE_OF_KIND_SQL = f"""
    SELECT count(*) FROM facilities_spot s
    WHERE s.facility_id = %(facility)s AND s.kind = %(kind)s AND {BOOKABLE_SPOT_SQL}
"""  # noqa: S608 - only constants are interpolated

# Allocations repeat weekly: eight days from now covers every weekday's hours.
_HORIZON = timedelta(days=8)


@dataclass(frozen=True)
class AllocationProblem:
    at: datetime
    bookings: int
    allocated: int
    bookable: int


def allocation_problem(*, facility_id: int, kind: str, now: datetime) -> AllocationProblem | None:
    """The first moment from ``now`` at which the live bookings of ``kind`` plus the spaces
    allocated (in force then) would need more spots than the facility has bookable, or
    None. Callers hold ``allocations_lock_exclusive`` so no booking slips in meanwhile."""
    params: dict[str, Any] = {"facility": facility_id, "kind": kind, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_BOOKABLE_OF_KIND_SQL, params)
        bookable = cursor.fetchone()[0]
        cursor.execute(_LIVE_OF_KIND_SQL, params)
        bookings = cursor.fetchall()
    allocations = [a for a in allocations_read(facility_ids=[facility_id]) if a.kind == kind]
    horizon = max([now + _HORIZON, *(ends for _, ends in bookings)])
    # (instant, change in bookings, change in allocated); ends sort before starts at one
    # instant (half-open ranges), and everything before now counts from now.
    events: list[tuple[datetime, int, int]] = []
    for starts, ends in bookings:
        events += [(max(starts, now), 1, 0), (ends, -1, 0)]
    for allocation in allocations:
        for begins, ends in hours_intervals(allocation.hours, allocation.tz, now, horizon):
            events += [(max(begins, now), 0, allocation.spaces), (ends, 0, -allocation.spaces)]
    events.sort(key=lambda e: (e[0], e[1] + e[2] > 0))
    used = allocated = 0
    for i, (at, booked, alloc) in enumerate(events):
        used += booked
        allocated += alloc
        last_at_instant = i + 1 == len(events) or events[i + 1][0] != at
        if last_at_instant and used + allocated > bookable:
            return AllocationProblem(at=at, bookings=used, allocated=allocated, bookable=bookable)
    return None
