"""Reads of bookings, always scoped to who is asking."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.db.models import DateField, DateTimeField, F, Func, Q, QuerySet
from django.db.models.functions import Cast

from bookings.availability import facilities_free_spots, facility_availability
from bookings.models import Booking
from bookings.states import LIVE_STATUSES_SQL
from facilities.selectors import SearchPage, facility_get_active, facility_plan_in_force
from facilities.windows import Window
from parkme.errors import NotFound
from parkme.models import User


def booking_list_for_driver(
    *,
    driver: User,
    status: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Booking]:
    qs = Booking.objects.for_driver(driver).select_related(
        "facility", "spot", "spot__zone", "vehicle"
    )
    if status:
        qs = qs.filter(status__in=status)
    if date_from or date_to:
        # Dates are the facility's local calendar days, as printed on the driver's receipt.
        qs = qs.annotate(
            local_start_date=Cast(
                Func(
                    F("facility__timezone"),
                    F("starts_at"),
                    function="timezone",
                    output_field=DateTimeField(),
                ),
                DateField(),
            )
        )
        # Q, not keyword filters: the annotation is not a model field to the type checker.
        if date_from:
            qs = qs.filter(Q(local_start_date__gte=date_from))
        if date_to:
            qs = qs.filter(Q(local_start_date__lte=date_to))
    return qs.order_by("-starts_at", "-id")


def booking_get_for_driver(*, driver: User, public_id) -> Booking:
    """Another driver's booking answers exactly like a missing one."""
    booking = (
        Booking.objects.for_driver(driver)
        .select_related("facility", "spot", "spot__zone", "vehicle")
        .filter(public_id=public_id)
        .first()
    )
    if booking is None:
        raise NotFound("No booking with this id.")
    return booking


_OVERLAP_COUNT_SQL = f"""
    SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
      ON a.spot_id = b.spot_id AND a.id < b.id
     AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
    WHERE a.status IN ({LIVE_STATUSES_SQL}) AND b.status IN ({LIVE_STATUSES_SQL})
"""  # noqa: S608 - only constants are interpolated


def booking_live_overlap_count() -> int:
    """Pairs of live bookings that overlap on one spot: the integrity check that must
    always answer 0 (the exclusion constraint guarantees it; benchmarks and audits ask)."""
    with connection.cursor() as cursor:
        cursor.execute(_OVERLAP_COUNT_SQL)
        return int(cursor.fetchone()[0])


# --- facilities as drivers see them: with availability for a window ----------------------


def facility_search_rows(
    *, page: SearchPage, window: Window, kind: str | None
) -> list[dict[str, Any]]:
    """The facilities of a search page (facilities.selectors.facility_search_page) with
    their free spots for the window: one more query whatever the page size."""
    free = facilities_free_spots(facility_ids=page.ids, window=window, kind=kind)
    return [
        {
            **row,
            "distance_km": None if row["distance_km"] is None else round(row["distance_km"], 3),
            "available_spots": free[row["id"]],
        }
        for row in page.rows
    ]


def facility_detail(*, facility_id: int, window: Window) -> dict[str, Any]:
    """An active facility with its zones, the rate plan in force at the window's start and
    the window's availability per kind and zone (404 when not active)."""
    facility = facility_get_active(facility_id=facility_id, at=window.starts_at)
    availability = facility_availability(facility=facility, window=window)
    empty = {"total": 0, "available": 0}
    return {
        **{
            field: getattr(facility, field)
            for field in ("id", "name", "slug", "address", "latitude", "longitude", "timezone")
        },
        "operator": facility.operator,
        "zones": [
            {
                "id": zone.id,
                "name": zone.name,
                "level": zone.level,
                "total_spots": availability.by_zone.get(zone.id, empty)["total"],
                "available_spots": availability.by_zone.get(zone.id, empty)["available"],
            }
            for zone in facility.zones.all()
        ],
        "rate_plan": facility_plan_in_force(facility),
        "availability": availability.by_kind,
        "available_spots": availability.available,
        "window": {"starts_at": window.starts_at, "ends_at": window.ends_at},
    }
