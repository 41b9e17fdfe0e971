"""Reads for drivers: facilities near a point with live availability, detail, quotes.

Availability is computed in SQL (one subquery per facility row, never a query per
facility), from bookings: a spot is free for a window when it is active, not in
maintenance, and no live booking overlaps the half-open window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import TAKEN_SPOT_IDS_SQL
from facilities.models import Facility, RatePlan, Spot, SpotStatus, Zone
from parkme.errors import NotFound


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime


def default_window(now: datetime | None = None) -> Window:
    """The next hour, from the current minute (so that equal requests share a cache key)."""
    start = (now or timezone.now()).replace(second=0, microsecond=0)
    return Window(start, start + timedelta(hours=1))


def _taken_spot_ids(facility: Facility, window: Window):
    """Spots of the facility that a live booking holds during the window, as a subquery
    (one index pass over the facility's live bookings, not a probe per spot)."""
    return (
        Booking.objects.live()
        .overlapping(window.starts_at, window.ends_at)
        .filter(facility=facility)
        .values("spot_id")
    )


def _bookable(kind: str | None) -> Q:
    q = Q(is_active=True, status=SpotStatus.AVAILABLE)
    return q & Q(kind=kind) if kind else q


_SEARCH_SQL = """
    SELECT f.id, f.name, f.slug, o.name, f.address, f.latitude, f.longitude, f.timezone,
           {distance} AS distance_km, count(*) OVER () AS total
    FROM facilities_facility f
    JOIN parkme_operator o ON o.id = f.operator_id
    WHERE f.is_active {where}
    ORDER BY {order}
    LIMIT %(limit)s OFFSET %(offset)s
"""
# Haversine distance in km; the bounding box in WHERE lets the geo index narrow rows first.
_DISTANCE = (
    "2 * 6371.0 * asin(sqrt(power(sin(radians(f.latitude - %(lat)s) / 2), 2)"
    " + cos(radians(%(lat)s)) * cos(radians(f.latitude))"
    " * power(sin(radians(f.longitude - %(lng)s) / 2), 2)))"
)
_AVAILABLE_SQL = f"""
    SELECT s.facility_id, count(*)
    FROM facilities_spot s
    WHERE s.facility_id = ANY(%(facility_ids)s) AND s.is_active AND s.status = 'available' {{kind}}
      AND s.id NOT IN ({TAKEN_SPOT_IDS_SQL})
    GROUP BY s.facility_id
"""  # noqa: S608 - only constants are interpolated


@dataclass(frozen=True)
class SearchPage:
    rows: list[dict]
    total: int

    @property
    def ids(self) -> list[int]:
        return [row["id"] for row in self.rows]


def facility_search_page(
    *, lat: float | None, lng: float | None, radius_km: float, limit: int, offset: int
) -> SearchPage:
    """One page of active facilities within radius_km of (lat, lng), nearest first, and
    the total count, in one query. Without a point: every active facility by name."""
    params: dict = {"limit": limit, "offset": offset}
    if lat is not None and lng is not None:
        dlat = radius_km / 111.0
        dlng = radius_km / max(111.0 * math.cos(math.radians(lat)), 0.01)
        params.update(
            lat=lat,
            lng=lng,
            radius=radius_km,
            lat_lo=lat - dlat,
            lat_hi=lat + dlat,
            lng_lo=lng - dlng,
            lng_hi=lng + dlng,
        )
        sql = _SEARCH_SQL.format(
            distance=_DISTANCE,
            where=(
                "AND f.latitude BETWEEN %(lat_lo)s AND %(lat_hi)s"
                " AND f.longitude BETWEEN %(lng_lo)s AND %(lng_hi)s"
                f" AND {_DISTANCE} <= %(radius)s"
            ),
            order="distance_km, f.id",
        )
    else:
        sql = _SEARCH_SQL.format(distance="NULL::float8", where="", order="f.name, f.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    keys = (
        "id",
        "name",
        "slug",
        "operator",
        "address",
        "latitude",
        "longitude",
        "timezone",
        "distance_km",
    )
    rows = [dict(zip(keys, row[:9], strict=True)) for row in fetched]
    return SearchPage(rows=rows, total=fetched[0][9] if fetched else 0)


def facilities_available_spots(
    *, facility_ids: list[int], window: Window, kind: str | None = None
) -> dict[int, int]:
    """Free bookable spots per facility for the window (and kind), in one query."""
    if not facility_ids:
        return {}
    sql = _AVAILABLE_SQL.format(kind="AND s.kind = %(kind)s" if kind else "")
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "facility_ids": facility_ids,
                "kind": kind,
                "starts_at": window.starts_at,
                "ends_at": window.ends_at,
            },
        )
        counts = dict(cursor.fetchall())
    return {facility_id: counts.get(facility_id, 0) for facility_id in facility_ids}


def facility_get_active(*, facility_id: int) -> Facility:
    facility = (
        Facility.objects.active()
        .select_related("operator")
        .prefetch_related(
            Prefetch("zones", queryset=Zone.objects.order_by("level", "name")),
            Prefetch(
                "rate_plans",
                queryset=RatePlan.objects.filter(is_active=True),
                to_attr="active_plans",
            ),
        )
        .filter(pk=facility_id)
        .first()
    )
    if facility is None:
        raise NotFound("No facility with this id.")
    return facility


def facility_availability_by_kind(*, facility: Facility, window: Window) -> list[dict]:
    """Per spot kind: bookable spots and how many are free in the window (one query)."""
    rows = (
        Spot.objects.filter(_bookable(None), facility=facility)
        .values("kind")
        .annotate(
            total=Count("id"),
            available=Count("id", filter=~Q(id__in=_taken_spot_ids(facility, window))),
        )
        .order_by("kind")
    )
    return [{"kind": r["kind"], "total": r["total"], "available": r["available"]} for r in rows]


def facility_zones_availability(*, facility: Facility, window: Window) -> dict[int, dict]:
    rows = (
        Spot.objects.filter(_bookable(None), facility=facility)
        .values("zone")
        .annotate(
            total=Count("id"),
            available=Count("id", filter=~Q(id__in=_taken_spot_ids(facility, window))),
        )
    )
    return {r["zone"]: {"total": r["total"], "available": r["available"]} for r in rows}
