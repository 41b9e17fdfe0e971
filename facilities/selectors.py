"""Reads of facilities: geographic search with prices, detail, the rate version in force,
and quotes.

Availability (which spots are free in a window) depends on bookings and lives with them
(bookings.availability); everything here knows facilities, zones, spots and rates only.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, Q
from django.utils import timezone

from facilities.boards import board_load, board_of
from facilities.models import (
    RATE_VERSION_IN_FORCE_SQL,
    Facility,
    RateVersion,
    SpotKind,
    Zone,
)
from facilities.quotes import QuotedPrice, quote_token_issue
from facilities.rating import Board, BoardGap, Price, price_window
from facilities.windows import Window, default_window
from parkme.errors import (
    NoRateInForce,
    NotFound,
    ParkMeError,
    ValidationFailed,
)

_SEARCH_SQL = f"""
    SELECT f.id, f.name, f.slug, o.name, f.address, f.latitude, f.longitude, f.timezone,
           {{distance}} AS distance_km, count(*) OVER () AS total, v.id, v.compiled
    FROM facilities_facility f
    JOIN parkme_operator o ON o.id = f.operator_id
    LEFT JOIN facilities_rateversion v
      ON v.facility_id = f.id AND {RATE_VERSION_IN_FORCE_SQL}
    WHERE f.is_active {{where}}
    ORDER BY {{order}}
    LIMIT %(limit)s OFFSET %(offset)s
"""  # noqa: S608 - only constants are interpolated
# Haversine distance in km; the bounding box in WHERE lets the geo index narrow rows first.
_DISTANCE = (
    "2 * 6371.0 * asin(sqrt(power(sin(radians(f.latitude - %(lat)s) / 2), 2)"
    " + cos(radians(%(lat)s)) * cos(radians(f.latitude))"
    " * power(sin(radians(f.longitude - %(lng)s) / 2), 2)))"
)
_ROW_KEYS = (
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


@dataclass(frozen=True)
class SearchPage:
    rows: list[dict[str, Any]]  # the facility, its distance_km, and price / currency
    total: int

    @property
    def ids(self) -> list[int]:
        return [row["id"] for row in self.rows]


@functools.lru_cache(maxsize=4096)
def _board_of_row(version_id: int, compiled: str, timezone: str) -> Board:
    """A search row's board, parsed once per process for each (version, rules, zone): the
    compiled JSON text is the key, so an edited board is a new entry."""
    return board_load(json.loads(compiled), timezone=timezone, version_id=version_id)


def _row_price(
    row: tuple[Any, ...], *, window: Window, kind: str | None
) -> tuple[Decimal | None, str | None]:
    """The window's price at this row's facility by the version in force (None: none)."""
    version_id, compiled, timezone = row[10], row[11], row[7]
    if version_id is None:
        return None, None
    board = _board_of_row(version_id, compiled, timezone)
    try:
        price = price_window(board, starts_at=window.starts_at, ends_at=window.ends_at, kind=kind)
    except BoardGap:
        return None, None
    return price.total, price.currency


def facility_search_page(
    *,
    lat: float | None,
    lng: float | None,
    radius_km: float,
    limit: int,
    offset: int,
    window: Window | None = None,
    kind: str | None = None,
    by_price: bool = False,
) -> SearchPage:
    """One page of active facilities within radius_km of (lat, lng), nearest first (or
    cheapest first for the window, ``by_price``), each with the window's price by the
    rate version in force, and the total count: one query. Without a point: every active
    facility by name. Sorting by price prices every facility in the radius (at most
    SEARCH_PRICE_SORT_MAX of them, nearest first) and then takes the page."""
    window = window or default_window()
    params: dict[str, Any] = {"limit": limit, "offset": offset, "at": window.starts_at}
    if by_price:
        params.update(limit=settings.SEARCH_PRICE_SORT_MAX, offset=0)
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
    rows = []
    for row in fetched:
        price, currency = _row_price(row, window=window, kind=kind)
        facility = dict(zip(_ROW_KEYS, row[:9], strict=True))
        rows.append({**facility, "price": price, "currency": currency})
    total = fetched[0][9] if fetched else 0
    if by_price:
        # Unpriced facilities last; equal prices stay nearest first (a stable sort).
        rows.sort(key=lambda r: (r["price"] is None, r["price"] or Decimal(0)))
        total = min(total, len(rows))
        rows = rows[offset : offset + limit]
    return SearchPage(rows=rows, total=total)


# The hot path of quotes and bookings: plain SQL (the ORM spent more CPU composing this
# query than PostgreSQL spent running it), the version and its active facility in one row.
_FACILITY_FIELDS = Facility._meta.concrete_fields
_VERSION_IN_FORCE_SQL = f"""
    SELECT v.*, {", ".join(f"f.{field.column} AS f__{field.column}" for field in _FACILITY_FIELDS)}
    FROM facilities_rateversion v JOIN facilities_facility f ON f.id = v.facility_id
    WHERE v.facility_id = %(facility)s AND f.is_active AND {RATE_VERSION_IN_FORCE_SQL}
"""  # noqa: S608 - only constants are interpolated


def _unknown_facility_field() -> ParkMeError:
    return ValidationFailed(
        "Unknown facility.", fields={"facility": ["No active facility with this id."]}
    )


def _no_such_facility() -> ParkMeError:
    return NotFound("No facility with this id.")


def rate_version_in_force(
    *,
    facility_id: int,
    at: datetime,
    unknown_facility: Callable[[], ParkMeError] = _unknown_facility_field,
) -> RateVersion:
    """The rate version that prices a window of this active facility starting at ``at``,
    with its facility (and compiled board) loaded, in one query: the one answer to "which
    rate applies", for quotes, search prices, bookings, extensions and overstays. An unknown
    or inactive facility raises ``unknown_facility()`` (a validation error on ``facility``
    by default); no version in force is 409 ``no_rate_in_force``."""
    version = next(
        iter(RateVersion.objects.raw(_VERSION_IN_FORCE_SQL, {"facility": facility_id, "at": at})),
        None,
    )
    if version is not None:
        version.facility = Facility.from_db(
            Facility.objects.db,
            [field.attname for field in _FACILITY_FIELDS],
            [getattr(version, f"f__{field.column}") for field in _FACILITY_FIELDS],
        )
    else:
        if not Facility.objects.active().filter(pk=facility_id).exists():
            raise unknown_facility()
        raise NoRateInForce()
    return version


def facility_get_active(*, facility_id: int) -> Facility:
    """An active facility with its operator and zones; an inactive or unknown id is 404."""
    facility = (
        Facility.objects.active()
        .select_related("operator")
        .prefetch_related(Prefetch("zones", queryset=Zone.objects.order_by("level", "name")))
        .filter(pk=facility_id)
        .first()
    )
    if facility is None:
        raise NotFound("No facility with this id.")
    return facility


def facility_rate_boards(
    *, facility: Facility, at: datetime
) -> tuple[RateVersion | None, RateVersion | None]:
    """The version in force at ``at`` and the next one scheduled after it (one query)."""
    current = next_version = None
    for version in (
        RateVersion.objects.filter(facility=facility)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
        .order_by("valid_from")[:2]
    ):
        if version.valid_from <= at and current is None:
            current = version
        elif next_version is None:
            next_version = version
    return current, next_version


def facility_timezones(operator_ids: list[int] | None) -> list[str]:
    """Distinct time zones of these operators' facilities (None: every operator)."""
    facilities = Facility.objects.all()
    if operator_ids is not None:
        facilities = facilities.filter(operator_id__in=operator_ids)
    return sorted(facilities.order_by().values_list("timezone", flat=True).distinct())


@dataclass(frozen=True)
class Quote:
    facility: Facility
    window: Window  # in the facility's local time
    kind: str
    version: RateVersion
    price: Price
    token: str  # a booking that sends it back keeps this total (facilities.quotes)
    expires_at: datetime


def facility_quote(*, facility_id: int, window: Window, kind: str | None = None) -> Quote:
    """The itemised price of a (validated) window at an active facility, by the version
    in force at its start, for a spot kind (standard by default), with its quote token."""
    version = rate_version_in_force(
        facility_id=facility_id, at=window.starts_at, unknown_facility=_no_such_facility
    )
    facility = version.facility
    kind = kind or SpotKind.STANDARD
    price = price_window(
        board_of(version), starts_at=window.starts_at, ends_at=window.ends_at, kind=kind
    )
    token, expires_at = quote_token_issue(
        QuotedPrice(
            facility_id=facility.pk,
            window=window,
            kind=kind,
            version_id=version.pk,
            currency=price.currency,
            total=price.total,
        ),
        now=timezone.now(),
    )
    tz = facility.tz
    return Quote(
        facility=facility,
        window=Window(window.starts_at.astimezone(tz), window.ends_at.astimezone(tz)),
        kind=kind,
        version=version,
        price=price,
        token=token,
        expires_at=expires_at.astimezone(tz),
    )
