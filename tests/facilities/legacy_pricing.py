"""The pricing engine of the old single rate plans, kept as a test oracle: rate boards
made from a plan (facilities.rating.board_from_plan, and the migration that turned plans
into versions) must price every window exactly as this did.

Price of a parking window: each started hour at the hourly rate, each day capped at the
daily maximum.

A "day" runs from the window's start to the same wall-clock time the next day in the
facility's time zone, so a daylight-saving day is 23 or 25 real hours long and is still
capped once; hours are real elapsed hours, so the hour that a spring-forward night skips
is never charged.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

CENT = Decimal("0.01")
# One line of a quote: starts_at, ends_at (local), started_hours, amount, capped.
PriceLine = dict[str, Any]


class Rates(Protocol):
    hourly_rate: Decimal
    daily_max: Decimal


def _day_boundaries(
    starts_at: datetime, ends_at: datetime, tz: zoneinfo.ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    # Python subtracts datetimes that share a tzinfo by wall clock; work in UTC so every
    # difference below is real elapsed time.
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    local_start = starts_at.astimezone(tz)
    day = 0
    segment_start = starts_at
    while segment_start < ends_at:
        day += 1
        # Wall-clock arithmetic on an aware datetime keeps the local time of day.
        next_local = (local_start.replace(tzinfo=None) + timedelta(days=day)).replace(tzinfo=tz)
        segment_end = min(next_local.astimezone(UTC), ends_at)
        if segment_end <= segment_start:  # guard against pathological zone data
            segment_end = min(segment_start + timedelta(hours=24), ends_at)
        yield segment_start, segment_end
        segment_start = segment_end


def window_price(
    *, rates: Rates, starts_at: datetime, ends_at: datetime, timezone_name: str
) -> Decimal:
    if ends_at <= starts_at:
        return Decimal("0.00")
    tz = zoneinfo.ZoneInfo(timezone_name)
    total = Decimal("0")
    for seg_start, seg_end in _day_boundaries(starts_at, ends_at, tz):
        started_hours = math.ceil((seg_end - seg_start).total_seconds() / 3600)
        total += min(rates.hourly_rate * started_hours, rates.daily_max)
    return total.quantize(CENT)


def window_breakdown(
    *, rates: Rates, starts_at: datetime, ends_at: datetime, timezone_name: str
) -> list[PriceLine]:
    """Per-day lines of a quote, in the facility's local time."""
    tz = zoneinfo.ZoneInfo(timezone_name)
    lines = []
    for seg_start, seg_end in _day_boundaries(starts_at, ends_at, tz):
        hours = math.ceil((seg_end - seg_start).total_seconds() / 3600)
        amount = min(rates.hourly_rate * hours, rates.daily_max).quantize(CENT)
        lines.append(
            {
                "starts_at": seg_start.astimezone(tz),
                "ends_at": seg_end.astimezone(tz),
                "started_hours": hours,
                "amount": amount,
                "capped": rates.hourly_rate * hours > rates.daily_max,
            }
        )
    return lines
