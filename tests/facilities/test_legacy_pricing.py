"""The price rule: each started hour at the hourly rate, each day capped."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.facilities.legacy_pricing import window_breakdown, window_price

HEL = ZoneInfo("Europe/Helsinki")


class Plan:
    hourly_rate = Decimal("3.00")
    daily_max = Decimal("20.00")


def price(start, end, tz="Europe/Helsinki"):
    return window_price(rates=Plan, starts_at=start, ends_at=end, timezone_name=tz)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(15, "3.00"), (60, "3.00"), (61, "6.00"), (120, "6.00"), (121, "9.00"), (400, "20.00")],
)
def test_each_started_hour_costs_the_hourly_rate_up_to_the_cap(minutes, expected):
    start = datetime(2026, 6, 1, 9, 0, tzinfo=HEL)
    assert price(start, start + timedelta(minutes=minutes)) == Decimal(expected)


def test_daily_cap_applies_to_each_day_of_a_multi_day_window():
    start = datetime(2026, 6, 1, 9, 0, tzinfo=HEL)
    # Two full days capped at 20 each, then 2 h 30 min → 3 started hours = 9.00
    assert price(start, start + timedelta(days=2, hours=2, minutes=30)) == Decimal("49.00")


def test_a_short_tail_day_is_not_capped_below_its_hours():
    start = datetime(2026, 6, 1, 9, 0, tzinfo=HEL)
    assert price(start, start + timedelta(days=1, hours=1)) == Decimal("23.00")


def test_spring_forward_night_charges_real_hours_not_wall_clock_hours():
    # 29 March 2026: Helsinki clocks jump from 03:00 to 04:00.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=HEL)
    end = datetime(2026, 3, 29, 6, 0, tzinfo=HEL)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=5)
    assert price(start, end) == Decimal("15.00")  # 5 real hours, not 6


def test_fall_back_day_is_one_capped_day_of_25_hours():
    # 25 October 2026: Helsinki clocks go back from 04:00 to 03:00.
    start = datetime(2026, 10, 25, 0, 0, tzinfo=HEL)
    end = datetime(2026, 10, 26, 0, 0, tzinfo=HEL)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    assert price(start, end) == Decimal("20.00")  # one local day, capped once
    lines = window_breakdown(
        rates=Plan, starts_at=start, ends_at=end, timezone_name="Europe/Helsinki"
    )
    assert len(lines) == 1
    assert lines[0]["started_hours"] == 25
    assert lines[0]["capped"] is True


def test_days_follow_the_facility_time_zone():
    # 20:00 UTC on 1 June is 23:00 in Helsinki; a "day" runs to 23:00 local the next day.
    start = datetime(2026, 6, 1, 20, 0, tzinfo=ZoneInfo("UTC"))
    lines = window_breakdown(
        rates=Plan,
        starts_at=start,
        ends_at=start + timedelta(hours=30),
        timezone_name="Europe/Helsinki",
    )
    assert [line["starts_at"].hour for line in lines] == [23, 23]
    assert [line["started_hours"] for line in lines] == [24, 6]
    assert sum(line["amount"] for line in lines) == Decimal("38.00")
