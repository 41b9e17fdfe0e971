"""Valid hours of permit products: weekday bands in the facility's local time. Pure values.

A band lists weekdays (0 = Monday) and a local ``starts``/``ends``: on each listed day it
runs from ``starts`` to ``ends`` the same day, or to ``ends`` the next day when ``ends`` is
not after ``starts`` — so nights 17:00 → 09:00 cross midnight and 00:00 → 00:00 is the whole
day (Mon–Sun 00:00 → 00:00 is 24/7). An instant is inside the hours when its local
wall-clock time is: the hour a spring-forward night skips does not exist, the hour a
fall-back night repeats is inside (or not) both times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class HoursBand:
    weekdays: frozenset[int]
    starts: time
    ends: time

    @property
    def crosses_midnight(self) -> bool:
        return self.ends <= self.starts


Hours = tuple[HoursBand, ...]


def _time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def hours_of(rows: Iterable[Any]) -> Hours:
    """Bands from model rows (``PermitHours``) or dicts with weekdays, starts, ends."""
    bands = []
    for row in rows:

        def get(name: str, row: Any = row) -> Any:
            return row[name] if isinstance(row, dict) else getattr(row, name)

        bands.append(
            HoursBand(
                weekdays=frozenset(int(d) for d in get("weekdays")),
                starts=_time(get("starts")),
                ends=_time(get("ends")),
            )
        )
    return tuple(bands)


def hours_dump(hours: Hours) -> list[dict[str, Any]]:
    return [
        {
            "weekdays": sorted(band.weekdays),
            "starts": band.starts.strftime("%H:%M"),
            "ends": band.ends.strftime("%H:%M"),
        }
        for band in hours
    ]


def in_hours(hours: Hours, tz: ZoneInfo, instant: datetime) -> bool:
    """Whether the instant's local wall-clock time is inside one of the bands."""
    local = instant.astimezone(tz)
    clock, weekday = local.time().replace(tzinfo=None), local.weekday()
    yesterday = (weekday - 1) % 7
    for band in hours:
        if band.crosses_midnight:
            if (weekday in band.weekdays and clock >= band.starts) or (
                yesterday in band.weekdays and clock < band.ends
            ):
                return True
        elif weekday in band.weekdays and band.starts <= clock < band.ends:
            return True
    return False


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def hours_intervals(
    hours: Hours, tz: ZoneInfo, starts_at: datetime, ends_at: datetime
) -> list[tuple[datetime, datetime]]:
    """The bands' occurrences that overlap ``[starts_at, ends_at)``, as UTC half-open
    intervals (unclipped), sorted by start."""
    first = starts_at.astimezone(tz).date() - timedelta(days=1)
    last = ends_at.astimezone(tz).date()
    out = []
    day = first
    while day <= last:
        for band in hours:
            if day.weekday() not in band.weekdays:
                continue
            begins = _at(day, band.starts, tz)
            ends = _at(day + timedelta(days=1) if band.crosses_midnight else day, band.ends, tz)
            if begins < ends_at and ends > starts_at:
                out.append((begins, ends))
        day += timedelta(days=1)
    return sorted(out)


def hours_intersect(hours: Hours, tz: ZoneInfo, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether the hours are in force at any moment of ``[starts_at, ends_at)``."""
    return bool(hours_intervals(hours, tz, starts_at, ends_at))


def _days_text(weekdays: frozenset[int]) -> str:
    days = sorted(weekdays)
    if days == list(range(7)):
        return "Daily"
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{_DAY_NAMES[days[0]]}–{_DAY_NAMES[days[-1]]}"
    return ", ".join(_DAY_NAMES[d] for d in days)


def hours_text(hours: Hours) -> str:
    """``"24/7"``, ``"Mon–Fri 06:00–20:00"``, ``"Daily 17:00–09:00 (next day)"``, …"""
    if not hours:
        return "No hours"
    parts = []
    for band in hours:
        if band.starts == band.ends == time(0) and len(band.weekdays) == 7:
            parts.append("24/7")
            continue
        span = f"{band.starts:%H:%M}–{band.ends:%H:%M}"
        if band.starts == band.ends:
            span = f"all day from {band.starts:%H:%M}"
        elif band.crosses_midnight and band.ends != time(0):
            span += " (next day)"
        parts.append(f"{_days_text(band.weekdays)} {span}")
    return "; ".join(parts)
