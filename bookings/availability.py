"""Availability: which bookable spots no live booking holds during a window.

The one implementation behind search, the facility detail page and the booking engine's
spot pick. A spot is free for ``[starts_at, ends_at)`` when it is bookable
(``facilities.models.BOOKABLE_SPOT_SQL``: active, not in maintenance) and no live booking
(``bookings.states.LIVE_STATUSES``) on it overlaps the window. The SQL is built from those
same constants; the taken spots of a page of facilities come from one index-only pass over
``booking_live_fac_status_idx`` that the planner hashes once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection

from bookings.states import LIVE_STATUSES_SQL
from facilities.models import BOOKABLE_SPOT_SQL, Facility, Spot, Zone
from facilities.windows import Window

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


def facilities_free_spots(
    *, facility_ids: list[int], window: Window, kind: str | None = None
) -> dict[int, int]:
    """Free spots per facility (of the kind, if given) for the window."""
    free = dict.fromkeys(facility_ids, 0)
    for count in spot_counts(facility_ids=facility_ids, window=window, kind=kind):
        free[count.facility_id] += count.free
    return free


@dataclass(frozen=True)
class FacilityAvailability:
    by_kind: list[dict[str, object]]  # kind, total, available (sorted by kind)
    by_zone: dict[int, dict[str, int]]  # zone id → total, available

    @property
    def available(self) -> int:
        return sum(int(row["available"]) for row in self.by_kind)  # type: ignore[call-overload]


def facility_availability(*, facility: Facility, window: Window) -> FacilityAvailability:
    """Per kind and per zone: bookable spots and how many are free in the window."""
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    zones: dict[int, dict[str, int]] = defaultdict(lambda: {"total": 0, "available": 0})
    for count in spot_counts(facility_ids=[facility.pk], window=window):
        kinds[count.kind][0] += count.total
        kinds[count.kind][1] += count.free
        zones[count.zone_id]["total"] += count.total
        zones[count.zone_id]["available"] += count.free
    return FacilityAvailability(
        by_kind=[
            {"kind": kind, "total": total, "available": free}
            for kind, (total, free) in sorted(kinds.items())
        ],
        by_zone=dict(zones),
    )


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
