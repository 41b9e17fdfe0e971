"""Occupancy: how many spots bookings occupy at a moment or during intervals.

The one definition behind the staff dashboard, the hourly roll-up, the occupancy report and
the Prometheus gauges, so every page shows the same figure for the same moment:

- a booking occupies its spot during its booked window ``[starts_at, ends_at)`` while it is
  held, confirmed, active or completed (``bookings.states.OCCUPYING_STATUSES``); cancelled
  and expired bookings never count;
- capacity is the bookable spots (active and not in maintenance, ``Spot.objects.bookable()``);
  a booking on a spot that went into maintenance still counts as occupying it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count

from bookings.states import OCCUPYING_STATUSES_SQL
from facilities.models import Spot

# Per facility, zone and interval i (1-based, in the order given): distinct spots used,
# occupied spot-seconds, bookings overlapping, and bookings starting inside the interval.
_OCCUPANCY_SQL = f"""
    SELECT b.facility_id, s.zone_id, i.n, count(DISTINCT b.spot_id),
           sum(extract(epoch FROM least(b.ends_at, i.e) - greatest(b.starts_at, i.s))),
           count(*), count(*) FILTER (WHERE b.starts_at >= i.s)
    FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) WITH ORDINALITY AS i(s, e, n)
    JOIN bookings_booking b
      ON b.status IN ({OCCUPYING_STATUSES_SQL}) AND b.starts_at < i.e AND b.ends_at > i.s
    JOIN facilities_spot s ON s.id = b.spot_id
    WHERE b.facility_id = ANY(%(facility_ids)s)
      -- All the intervals' span again, as constants: the planner cannot see the bounds
      -- inside unnest, and with these it reads booking_occupying_ends_idx from the span's
      -- start on instead of every booking of the facilities (the whole history).
      AND b.ends_at > %(span_start)s AND b.starts_at < %(span_end)s
    GROUP BY b.facility_id, s.zone_id, i.n
"""  # noqa: S608 - only constants are interpolated
# An instant t is the interval [t, t + 1 µs): with half-open windows, starts_at <= t < ends_at.
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Occupancy:
    spots: int = 0  # distinct spots occupied at some time in the interval
    spot_seconds: float = 0.0  # occupied spot-time inside the interval
    bookings: int = 0  # bookings overlapping the interval
    started: int = 0  # of those, bookings that started inside it

    def __add__(self, other: Occupancy) -> Occupancy:
        return Occupancy(
            self.spots + other.spots,
            self.spot_seconds + other.spot_seconds,
            self.bookings + other.bookings,
            self.started + other.started,
        )


@dataclass(frozen=True)
class OccupancyKey:
    facility_id: int
    zone_id: int
    interval: int  # index into the intervals given, from 0


def occupancy(
    *, facility_ids: Iterable[int], intervals: Sequence[tuple[datetime, datetime]]
) -> dict[OccupancyKey, Occupancy]:
    """Occupancy per facility, zone and interval, in one query; absent keys are zero."""
    ids = list(facility_ids)
    if not ids or not intervals:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _OCCUPANCY_SQL,
            {
                "facility_ids": ids,
                "starts": [start for start, _ in intervals],
                "ends": [end for _, end in intervals],
                "span_start": min(start for start, _ in intervals),
                "span_end": max(end for _, end in intervals),
            },
        )
        rows = cursor.fetchall()
    return {
        OccupancyKey(facility, zone, n - 1): Occupancy(spots, float(seconds), count, started)
        for facility, zone, n, spots, seconds, count, started in rows
    }


def occupancy_by_facility(
    *, facility_ids: Iterable[int], intervals: Sequence[tuple[datetime, datetime]]
) -> dict[tuple[int, int], Occupancy]:
    """(facility id, interval index) → occupancy summed over the facility's zones."""
    totals: dict[tuple[int, int], Occupancy] = {}
    for key, figure in occupancy(facility_ids=facility_ids, intervals=intervals).items():
        at = (key.facility_id, key.interval)
        totals[at] = totals.get(at, Occupancy()) + figure
    return totals


def occupied_now(*, facility_ids: Iterable[int], at: datetime) -> dict[OccupancyKey, int]:
    """Spots occupied at the instant ``at``, per facility and zone."""
    figures = occupancy(facility_ids=facility_ids, intervals=[(at, at + _INSTANT)])
    return {key: figure.spots for key, figure in figures.items()}


def occupied_now_by_facility(*, facility_ids: Iterable[int], at: datetime) -> dict[int, int]:
    ids = list(facility_ids)
    occupied = dict.fromkeys(ids, 0)
    for key, spots in occupied_now(facility_ids=ids, at=at).items():
        occupied[key.facility_id] += spots
    return occupied


def capacity_by_facility(*, facility_ids: Iterable[int]) -> dict[int, int]:
    """Bookable spots per facility (the denominator of every occupancy figure)."""
    ids = list(facility_ids)
    counts = dict(
        Spot.objects.bookable()
        .filter(facility_id__in=ids)
        .order_by()
        .values_list("facility_id")
        .annotate(n=Count("id"))
    )
    return {facility_id: counts.get(facility_id, 0) for facility_id in ids}
