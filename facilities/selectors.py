"""Reads of facilities: geographic search, detail, the rate plan in force, and quotes.

Availability (which spots are free in a window) depends on bookings and lives with them
(bookings.availability); everything here knows facilities, zones, spots and rates only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Prefetch

from facilities.models import Facility, RatePlan, Zone
from facilities.pricing import PriceLine, window_breakdown, window_price
from facilities.windows import Window
from parkme.errors import NoAvailability, NotFound, ValidationFailed

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


def rate_plan_in_force(*, facility_id: int, at: datetime) -> RatePlan:
    """The rate plan that prices a window of this active facility starting at ``at``, with
    its facility loaded, in one query: the one answer to "which rate applies", for quotes,
    bookings, extensions and overstays. An unknown or inactive facility is a validation
    error on ``facility``; a facility without a plan takes no bookings (409)."""
    plan = (
        RatePlan.objects.in_force(at=at)
        .select_related("facility")
        .filter(facility_id=facility_id, facility__is_active=True)
        .first()
    )
    if plan is None:
        if not Facility.objects.active().filter(pk=facility_id).exists():
            raise ValidationFailed(
                "Unknown facility.", fields={"facility": ["No active facility with this id."]}
            )
        raise NoAvailability("This facility takes no bookings right now (no rate plan).")
    return plan


def facility_get_active(*, facility_id: int, at: datetime | None = None) -> Facility:
    """An active facility with its zones and (as ``plans_in_force``, when ``at`` is given)
    the rate plan in force at ``at``; an inactive or unknown id is 404."""
    prefetches: list[Prefetch] = [
        Prefetch("zones", queryset=Zone.objects.order_by("level", "name"))
    ]
    if at is not None:
        prefetches.append(
            Prefetch(
                "rate_plans", queryset=RatePlan.objects.in_force(at=at), to_attr="plans_in_force"
            )
        )
    facility = (
        Facility.objects.active()
        .select_related("operator")
        .prefetch_related(*prefetches)
        .filter(pk=facility_id)
        .first()
    )
    if facility is None:
        raise NotFound("No facility with this id.")
    return facility


def facility_plan_in_force(facility: Facility) -> RatePlan | None:
    """The plan prefetched by ``facility_get_active(at=…)``, if the facility has one."""
    plans: list[RatePlan] = getattr(facility, "plans_in_force", [])
    return plans[0] if plans else None


def facility_timezones(operator_ids: list[int] | None) -> list[str]:
    """Distinct time zones of these operators' facilities (None: every operator)."""
    facilities = Facility.objects.all()
    if operator_ids is not None:
        facilities = facilities.filter(operator_id__in=operator_ids)
    return sorted(facilities.order_by().values_list("timezone", flat=True).distinct())


@dataclass(frozen=True)
class Quote:
    facility: Facility
    window: Window
    plan: RatePlan
    price: Decimal
    lines: list[PriceLine]


def facility_quote(*, facility_id: int, window: Window) -> Quote:
    """The itemised price of a (validated) window at an active facility."""
    facility = facility_get_active(facility_id=facility_id, at=window.starts_at)
    plan = facility_plan_in_force(facility)
    if plan is None:
        raise NoAvailability("This facility takes no bookings right now (no rate plan).")
    tz = facility.tz
    local = Window(window.starts_at.astimezone(tz), window.ends_at.astimezone(tz))
    start, end, zone = window.starts_at, window.ends_at, facility.timezone
    return Quote(
        facility=facility,
        window=local,
        plan=plan,
        price=window_price(rates=plan, starts_at=start, ends_at=end, timezone_name=zone),
        lines=window_breakdown(rates=plan, starts_at=start, ends_at=end, timezone_name=zone),
    )
