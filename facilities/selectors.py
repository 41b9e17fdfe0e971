"""Reads for drivers: facilities near a point with live availability, detail, quotes.

Availability is computed in SQL (one subquery per facility row, never a query per
facility), from bookings: a spot is free for a window when it is active, not in
maintenance, and no live booking overlaps the half-open window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import ASin, Coalesce, Cos, Power, Radians, Sin, Sqrt
from django.utils import timezone

from bookings.models import Booking
from facilities.models import Facility, RatePlan, Spot, SpotStatus, Zone
from parkme.errors import NotFound

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime


def default_window(now: datetime | None = None) -> Window:
    """The next hour, from the current minute (so that equal requests share a cache key)."""
    start = (now or timezone.now()).replace(second=0, microsecond=0)
    return Window(start, start + timedelta(hours=1))


def _taken(window: Window):
    return (
        Booking.objects.live()
        .overlapping(window.starts_at, window.ends_at)
        .filter(spot=OuterRef("pk"))
    )


def _bookable(kind: str | None) -> Q:
    q = Q(is_active=True, status=SpotStatus.AVAILABLE)
    return q & Q(kind=kind) if kind else q


def available_spots_subquery(window: Window, kind: str | None) -> Subquery:
    free = (
        Spot.objects.filter(_bookable(kind), facility=OuterRef("pk"))
        .exclude(Exists(_taken(window)))
        .order_by()
        .values("facility")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(free, output_field=IntegerField()), Value(0))


def _distance_km(lat: float, lng: float):
    dlat = Radians(F("latitude") - Value(lat))
    dlng = Radians(F("longitude") - Value(lng))
    a = Power(Sin(dlat / 2), 2) + Cos(Radians(Value(lat))) * Cos(Radians(F("latitude"))) * Power(
        Sin(dlng / 2), 2
    )
    return Value(2 * EARTH_RADIUS_KM, output_field=FloatField()) * ASin(Sqrt(a))


def facility_search(
    *,
    lat: float | None,
    lng: float | None,
    radius_km: float,
    window: Window,
    kind: str | None = None,
) -> QuerySet[Facility]:
    """Active facilities within radius_km of (lat, lng), nearest first, with
    `distance_km` and `available_spots` for the window (and kind). Without a point, every
    active facility by name."""
    qs = Facility.objects.active().select_related("operator")
    if lat is not None and lng is not None:
        # Bounding box first so the geo index narrows the rows the distance is computed for.
        dlat = radius_km / 111.0
        dlng = radius_km / max(111.0 * math.cos(math.radians(lat)), 0.01)
        qs = (
            qs.filter(
                latitude__gte=lat - dlat,
                latitude__lte=lat + dlat,
                longitude__gte=lng - dlng,
                longitude__lte=lng + dlng,
            )
            .annotate(distance_km=_distance_km(lat, lng))
            .filter(distance_km__lte=radius_km)
            .order_by("distance_km", "id")
        )
    else:
        qs = qs.annotate(distance_km=Value(None, output_field=FloatField())).order_by("name", "id")
    return qs.annotate(available_spots=available_spots_subquery(window, kind))


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
            available=Count("id", filter=~Q(Exists(_taken(window)))),
        )
        .order_by("kind")
    )
    return [{"kind": r["kind"], "total": r["total"], "available": r["available"]} for r in rows]


def facility_zones_availability(*, facility: Facility, window: Window) -> dict[int, dict]:
    rows = (
        Spot.objects.filter(_bookable(None), facility=facility)
        .values("zone")
        .annotate(total=Count("id"), available=Count("id", filter=~Q(Exists(_taken(window)))))
    )
    return {r["zone"]: {"total": r["total"], "available": r["available"]} for r in rows}
