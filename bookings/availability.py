"""Availability: which bookable spots no live booking holds during a window.

The one implementation behind search, the facility detail page and the booking engine's
spot pick. A spot is free for ``[starts_at, ends_at)`` when it is bookable
(``facilities.models.BOOKABLE_SPOT_SQL``: active, not in maintenance) and no live booking
(``bookings.states.LIVE_STATUSES``) on it overlaps the window. The SQL is built from those
same constants; the taken spots of a page of facilities come from one index-only pass over
``booking_live_fac_status_idx`` that the planner hashes once.

What a driver can book is then the free spots of a kind minus the spaces permit products
withhold for the window (``bookings.allocations``), never below zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection

from bookings.allocations import Allocation, allocations_read, capacity_lock, withheld_spaces
from bookings.states import LIVE_STATUSES_SQL
from facilities.models import BOOKABLE_SPOT_SQL, Facility, Spot, Zone
from facilities.windows import Window
from parkme.errors import NoAvailability

# The spots that live bookings at %(facility_ids)s hold during [%(starts_at)s, %(ends_at)s).
TAKEN_SPOT_IDS_SQL = f"""
    SELECT b.spot_id FROM bookings_booking b
    WHERE b.facility_id = ANY(%(facility_ids)s) AND b.status IN ({LIVE_STATUSES_SQL})
      AND b.starts_at < %(ends_at)s AND b.ends_at > %(starts_at)s
"""  # noqa: S608 - only constants are interpolated
FREE_SPOT_SQL = f"{BOOKABLE_SPOT_SQL} AND s.id NOT IN ({TAKEN_SPOT_IDS_SQL})"

_COUNTS_SQL = f"""
    SELECT s.facility_id, s.zone_id, s.kind, count(*),
           count(*) FILTER (WHERE s.id NOT IN ({TAKEN_SPOT_IDS_SQL}))
    FROM facilities_spot s
    WHERE s.facility_id = ANY(%(facility_ids)s) AND {BOOKABLE_SPOT_SQL} {{kind}}
    GROUP BY s.facility_id, s.zone_id, s.kind
"""  # noqa: S608 - only constants are interpolated

_LOCK_SQL = f"""
    SELECT s.*, z.name AS zone_name, z.level AS zone_level
    FROM facilities_spot s JOIN facilities_zone z ON z.id = s.zone_id
    WHERE s.facility_id = %(facility)s AND s.kind = %(kind)s AND {FREE_SPOT_SQL}
    ORDER BY s.id
    LIMIT 1
    FOR UPDATE OF s
"""  # noqa: S608 - only constants are interpolated


@dataclass(frozen=True)
class SpotCount:
    facility_id: int
    zone_id: int
    kind: str
    total: int
    free: int


def _params(facility_ids: list[int], window: Window, **more: Any) -> dict[str, Any]:
    return {
        "facility_ids": facility_ids,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        **more,
    }


def spot_counts(
    *, facility_ids: list[int], window: Window, kind: str | None = None
) -> list[SpotCount]:
    """Bookable and free spots per facility, zone and kind for the window, in one query."""
    if not facility_ids:
        return []
    sql = _COUNTS_SQL.format(kind="AND s.kind = %(kind)s" if kind else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(facility_ids, window, kind=kind))
        return [SpotCount(*row) for row in cursor.fetchall()]


def bookable_by_kind(
    *, facility_ids: list[int], window: Window, kind: str | None = None
) -> dict[tuple[int, str], tuple[int, int]]:
    """Per (facility, kind): (free spots, of which bookable after permit allocations)."""
    free: dict[tuple[int, str], int] = defaultdict(int)
    for count in spot_counts(facility_ids=facility_ids, window=window, kind=kind):
        free[(count.facility_id, count.kind)] += count.free
    withheld = withheld_spaces(allocations_read(facility_ids=facility_ids), window, kind=kind)
    return {key: (n, max(0, n - withheld.get(key, 0))) for key, n in free.items()}


def facilities_free_spots(
    *, facility_ids: list[int], window: Window, kind: str | None = None
) -> dict[int, int]:
    """Spots a driver can book per facility (of the kind, if given) for the window: free
    spots minus the spaces permit products withhold."""
    available = dict.fromkeys(facility_ids, 0)
    by_kind = bookable_by_kind(facility_ids=facility_ids, window=window, kind=kind)
    for (facility_id, _), (_, bookable) in by_kind.items():
        available[facility_id] += bookable
    return available


@dataclass(frozen=True)
class FacilityAvailability:
    by_kind: list[dict[str, object]]  # kind, total, available, withheld (sorted by kind)
    by_zone: dict[int, dict[str, int]]  # zone id → total, available (free spots)

    @property
    def available(self) -> int:
        return sum(int(row["available"]) for row in self.by_kind)  # type: ignore[call-overload]


def facility_availability(*, facility: Facility, window: Window) -> FacilityAvailability:
    """Per kind: bookable spots, how many a driver can book in the window and how many
    are withheld for permit holders; per zone: bookable and free spots."""
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    zones: dict[int, dict[str, int]] = defaultdict(lambda: {"total": 0, "available": 0})
    for count in spot_counts(facility_ids=[facility.pk], window=window):
        kinds[count.kind][0] += count.total
        kinds[count.kind][1] += count.free
        zones[count.zone_id]["total"] += count.total
        zones[count.zone_id]["available"] += count.free
    withheld = withheld_spaces(allocations_read(facility_ids=[facility.pk]), window)
    rows = []
    for kind, (total, free) in sorted(kinds.items()):
        held_back = min(free, withheld.get((facility.pk, kind), 0))
        rows.append(
            {"kind": kind, "total": total, "available": free - held_back, "withheld": held_back}
        )
    return FacilityAvailability(by_kind=rows, by_zone=dict(zones))


def free_spot_lock(*, facility: Facility, kind: str, window: Window, wait: bool) -> Spot | None:
    """One free spot of the kind for the window, row-locked (``FOR UPDATE``, or ``SKIP
    LOCKED`` unless ``wait``), with its zone loaded: the booking engine's pick."""
    sql = _LOCK_SQL if wait else _LOCK_SQL + " SKIP LOCKED"
    params = _params([facility.pk], window, facility=facility.pk, kind=kind)
    spot = next(iter(Spot.objects.raw(sql, params)), None)
    if spot is not None:
        spot.zone = Zone.from_db(
            Spot.objects.db,
            ["id", "facility_id", "name", "level"],
            [spot.zone_id, spot.facility_id, spot.zone_name, spot.zone_level],  # type: ignore[attr-defined]
        )
    return spot


def permit_allocation_guard(
    *, facility_id: int, kind: str, window: Window, allocations: list[Allocation] | None = None
) -> None:
    """Refuse (``no_availability``) a booking of ``kind`` for ``window`` that would take
    spaces a permit product withholds. The caller holds the facility's shared allocations
    lock (see bookings.allocations); when an allocation of the kind is in force during the
    window, this takes the capacity lock and counts again, so racing bookings never both
    take the last space."""
    if allocations is None:
        allocations = allocations_read(facility_ids=[facility_id])
    if not withheld_spaces(allocations, window, kind=kind):
        return
    capacity_lock(facility_id=facility_id)
    if facilities_free_spots(facility_ids=[facility_id], window=window, kind=kind)[facility_id] < 1:
        raise NoAvailability()
