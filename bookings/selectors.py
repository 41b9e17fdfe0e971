"""Reads of bookings, always scoped to who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import DateField, DateTimeField, F, Func, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from bookings.availability import facilities_free_spots, facility_availability
from bookings.models import Booking
from bookings.states import LIVE_STATUSES_SQL, Action, transition_check
from facilities.boards import board_of
from facilities.models import RateVersion
from facilities.rating import Price, price_window
from facilities.selectors import (
    SearchPage,
    facility_get_active,
    facility_rate_boards,
    rate_version_in_force,
)
from facilities.windows import Window, duration_errors
from parkme.errors import NotFound, ValidationFailed
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
    """An active facility with its zones, the rate board in force at the window's start
    (and the next one), and the window's availability per kind and zone (404 when not
    active)."""
    facility = facility_get_active(facility_id=facility_id)
    current, following = facility_rate_boards(facility=facility, at=window.starts_at)
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
        "rate_board": current,
        "next_rate_board": following,
        "availability": availability.by_kind,
        "available_spots": availability.available,
        "window": {"starts_at": window.starts_at, "ends_at": window.ends_at},
    }


# --- prices of a booking ----------------------------------------------------------------------


def booking_rate_version(booking: Booking) -> RateVersion:
    """The version that priced the booking (older bookings: the one in force at its start)."""
    if (version := booking.rate_version) is not None:  # no query when the id is empty
        return version
    return rate_version_in_force(facility_id=booking.facility_id, at=booking.starts_at)


def extension_check(*, booking: Booking, ends_at: datetime, now: datetime, actor_kind: str) -> None:
    """Whether the booking may be extended to ``ends_at`` (the state machine, then the
    window rules); raises the error a client sees."""
    transition_check(action=Action.EXTEND, from_status=booking.status, actor_kind=actor_kind)
    if ends_at <= booking.ends_at:
        raise ValidationFailed(
            "The new end must be after the current end.",
            fields={"ends_at": ["Must be later than the current end."]},
        )
    if ends_at <= now:
        raise ValidationFailed("The new end is in the past.", fields={"ends_at": ["In the past."]})
    if problems := duration_errors(starts_at=booking.starts_at, ends_at=ends_at):
        raise ValidationFailed(problems[0], fields={"ends_at": problems})


@dataclass(frozen=True)
class ExtendQuote:
    booking: Booking
    ends_at: datetime  # local
    current_price: Decimal
    price: Price  # of the whole booking to the new end

    @property
    def difference(self) -> Decimal:
        return self.price.total - self.current_price


def booking_extend_quote(
    *, booking: Booking, ends_at: datetime, actor_kind: str, now: datetime | None = None
) -> ExtendQuote:
    """What extending the booking to ``ends_at`` would cost, by the booking's own board,
    before doing it (the spot's availability is checked by the extension itself)."""
    now = now or timezone.now()
    extension_check(booking=booking, ends_at=ends_at, now=now, actor_kind=actor_kind)
    version = booking_rate_version(booking)
    price = price_window(
        board_of(version), starts_at=booking.starts_at, ends_at=ends_at, kind=booking.spot_kind
    )
    return ExtendQuote(
        booking=booking,
        ends_at=ends_at.astimezone(booking.facility.tz),
        current_price=booking.price,
        price=price,
    )
