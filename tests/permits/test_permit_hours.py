"""Valid hours of permit products: the wall-clock rule, its intervals, and how they read."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bookings.permit_hours import (
    HoursBand,
    hours_intersect,
    hours_intervals,
    hours_of,
    hours_text,
    in_hours,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
ZONES = [ZoneInfo("UTC"), HELSINKI, ZoneInfo("America/New_York")]

quarter = st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15))
bands = st.builds(
    HoursBand,
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    starts=quarter,
    ends=quarter,
)
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def _steady(tz: ZoneInfo, at: datetime) -> bool:
    """No daylight-saving change within two days of ``at``."""
    return (at - timedelta(days=2)).astimezone(tz).utcoffset() == (
        at + timedelta(days=2)
    ).astimezone(tz).utcoffset()


@settings(max_examples=300, deadline=None)
@given(hours=st.lists(bands, min_size=1, max_size=3), at=instants, tz=st.sampled_from(ZONES))
def test_the_wall_clock_rule_and_the_intervals_agree(hours, at, tz):
    assume(_steady(tz, at))
    hours = tuple(hours)
    inside = any(b <= at < e for b, e in hours_intervals(hours, tz, at, at + timedelta(seconds=1)))
    assert in_hours(hours, tz, at) == inside


@settings(max_examples=200, deadline=None)
@given(
    hours=st.lists(bands, min_size=1, max_size=3),
    at=instants,
    minutes=st.integers(1, 3 * 24 * 60),
    tz=st.sampled_from(ZONES),
)
def test_a_window_meets_the_hours_when_one_of_its_minutes_is_inside(hours, at, minutes, tz):
    at = at.replace(second=0, microsecond=0)
    assume(_steady(tz, at) and _steady(tz, at + timedelta(minutes=minutes)))
    hours = tuple(hours)
    sampled = any(in_hours(hours, tz, at + timedelta(minutes=m)) for m in range(minutes))
    # Bands start on quarter hours, so minute sampling sees every occurrence.
    assert hours_intersect(hours, tz, at, at + timedelta(minutes=minutes)) == sampled


def test_nights_cross_midnight_and_midnight_to_midnight_is_the_whole_day():
    nights = hours_of([{"weekdays": [4], "starts": "17:00", "ends": "09:00"}])
    friday_late = datetime(2026, 11, 27, 23, 0, tzinfo=HELSINKI)
    saturday_morning = datetime(2026, 11, 28, 8, 59, tzinfo=HELSINKI)
    saturday_nine = datetime(2026, 11, 28, 9, 0, tzinfo=HELSINKI)
    thursday_late = datetime(2026, 11, 26, 23, 0, tzinfo=HELSINKI)
    assert in_hours(nights, HELSINKI, friday_late)
    assert in_hours(nights, HELSINKI, saturday_morning)  # Friday's night, on Saturday
    assert not in_hours(nights, HELSINKI, saturday_nine)
    assert not in_hours(nights, HELSINKI, thursday_late)
    all_day = hours_of([{"weekdays": [0, 1, 2, 3, 4, 5, 6], "starts": "00:00", "ends": "00:00"}])
    assert in_hours(all_day, HELSINKI, datetime(2026, 10, 25, 3, 30, tzinfo=HELSINKI, fold=1))


def test_the_night_of_a_clock_change_is_one_hour_longer_in_real_time():
    nights = hours_of([{"weekdays": range(7), "starts": "17:00", "ends": "09:00"}])
    saturday = datetime(2026, 10, 24, 12, 0, tzinfo=HELSINKI)
    (begins, ends), *_ = hours_intervals(nights, HELSINKI, saturday, saturday + timedelta(days=1))
    assert ends - begins == timedelta(hours=17)  # 16 on any other night


def test_hours_read_like_a_sign():
    def text(*rows):
        return hours_text(hours_of([{"weekdays": d, "starts": s, "ends": e} for d, s, e in rows]))

    assert text((range(7), "00:00", "00:00")) == "24/7"
    assert text((range(5), "06:00", "20:00")) == "Mon–Fri 06:00–20:00"
    assert text((range(7), "17:00", "09:00")) == "Daily 17:00–09:00 (next day)"
    assert text(([5, 6], "08:00", "00:00"), ([0], "06:00", "10:00")) == (
        "Sat, Sun 08:00–00:00; Mon 06:00–10:00"
    )
