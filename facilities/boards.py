"""Rate versions as boards: from the admin's rows to facilities.rating's plain values.

A version's rules live in five tables so staff can edit them; pricing reads the version's
``compiled`` JSON instead (one row, no joins). ``rate_version_compile`` rewrites it, and
facilities.signals calls it whenever a version or any of its rules is saved or deleted.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from facilities.models import RateVersion
from facilities.rating import (
    CENT,
    Band,
    Board,
    EarlyBird,
    KindAdjustment,
    Overnight,
    Price,
    SpecialDay,
)


def _t(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def _time(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _band(row: Any, weekday: int) -> dict[str, Any]:
    return {
        "weekday": weekday,
        "starts": _t(row.starts),
        "ends": _t(row.ends),
        "unit_minutes": row.unit_minutes,
        "unit_price": _money(row.unit_price),
        "label": row.label,
    }


def rate_version_dump(version: RateVersion) -> dict[str, Any]:
    """The version and all its rules as JSON-safe values (queries its rule tables)."""
    overnight = None
    if version.overnight_max is not None:
        overnight = {
            "starts": _t(version.overnight_starts),
            "ends": _t(version.overnight_ends),
            "maximum": _money(version.overnight_max),
        }
    return {
        "currency": version.currency,
        "vat_percent": _money(version.vat_percent),
        "daily_max": _money(version.daily_max),
        "minimum_charge": _money(version.minimum_charge),
        "overnight": overnight,
        "bands": [_band(b, b.weekday) for b in version.bands.order_by("weekday", "starts")],
        "early_birds": [
            {
                "label": e.label,
                "enter_from": _t(e.enter_from),
                "enter_until": _t(e.enter_until),
                "leave_from": _t(e.leave_from),
                "leave_until": _t(e.leave_until),
                "price": _money(e.price),
                "weekdays": sorted(e.weekdays),
            }
            for e in version.early_birds.order_by("enter_from", "id")
        ],
        "special_days": [
            {
                "label": d.label,
                "first": d.first_day.isoformat(),
                "last": d.last_day.isoformat(),
                "flat_price": _money(d.flat_price),
                "bands": [_band(b, 0) for b in d.bands.order_by("starts")],
            }
            for d in version.special_days.prefetch_related("bands").order_by("first_day")
        ],
        "kind_adjustments": [
            {"kind": k.kind, "per_hour": _money(k.per_hour), "percent": _money(k.percent)}
            for k in version.kind_adjustments.order_by("kind")
        ],
    }


def _band_of(data: dict[str, Any]) -> Band:
    return Band(
        weekday=data["weekday"],
        starts=_time(data["starts"]) or time(0),
        ends=_time(data["ends"]),
        unit_minutes=data["unit_minutes"],
        unit_price=Decimal(data["unit_price"]),
        label=data["label"],
    )


def board_load(data: dict[str, Any], *, timezone: str, version_id: int | None = None) -> Board:
    """The Board of a compiled version, in the facility's time zone."""
    overnight = data.get("overnight")
    return Board(
        timezone=timezone,
        currency=data["currency"],
        vat_percent=Decimal(data["vat_percent"]),
        bands=tuple(_band_of(b) for b in data["bands"]),
        daily_max=_decimal(data.get("daily_max")),
        overnight=(
            Overnight(
                starts=_time(overnight["starts"]) or time(0),
                ends=_time(overnight["ends"]) or time(0),
                maximum=Decimal(overnight["maximum"]),
            )
            if overnight
            else None
        ),
        early_birds=tuple(
            EarlyBird(
                enter_from=_time(e["enter_from"]) or time(0),
                enter_until=_time(e["enter_until"]) or time(0),
                leave_from=_time(e["leave_from"]) or time(0),
                leave_until=_time(e["leave_until"]) or time(0),
                price=Decimal(e["price"]),
                weekdays=frozenset(e["weekdays"]),
                label=e["label"],
            )
            for e in data.get("early_birds", [])
        ),
        special_days=tuple(
            SpecialDay(
                first=date.fromisoformat(d["first"]),
                last=date.fromisoformat(d["last"]),
                label=d["label"],
                flat_price=_decimal(d["flat_price"]),
                bands=tuple(_band_of(b) for b in d["bands"]),
            )
            for d in data.get("special_days", [])
        ),
        kind_adjustments=tuple(
            KindAdjustment(
                kind=k["kind"], per_hour=Decimal(k["per_hour"]), percent=Decimal(k["percent"])
            )
            for k in data.get("kind_adjustments", [])
        ),
        minimum_charge=Decimal(data.get("minimum_charge") or "0"),
        version_id=version_id,
    )


def board_of(version: RateVersion) -> Board:
    """The board a (compiled) version prices by, in its facility's time zone."""
    return board_load(version.compiled, timezone=version.facility.timezone, version_id=version.pk)


def rate_version_compile(*, version_id: int) -> None:
    """Rewrite a version's compiled board from its rows (after any change to them)."""
    version = RateVersion.objects.filter(pk=version_id).first()
    if version is not None:
        RateVersion.objects.filter(pk=version_id).update(compiled=rate_version_dump(version))


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _hhmm(value: time | None) -> str:
    return "24:00" if value is None else value.strftime("%H:%M")


def day_problems(spans: list[tuple[time, time | None]], day: str) -> list[str]:
    """What keeps these ``[starts, ends)`` spans from pricing every minute of one day
    exactly once: overlaps and gaps, named so staff can fix them."""
    if not spans:
        return [f"{day} has no band: a board must price every minute of the week."]
    problems = []
    minutes = sorted(
        (s.hour * 60 + s.minute, 24 * 60 if e is None else e.hour * 60 + e.minute, s, e)
        for s, e in spans
    )
    reached, reached_at = 0, time(0)
    for start, end, s, e in minutes:
        if start > reached:
            problems.append(
                f"{day} {reached_at:%H:%M}–{s:%H:%M} has no band: "
                "a board must price every minute of the week."
            )
        elif start < reached:
            upto = min(end, reached)
            problems.append(
                f"Bands overlap on {day} from {s:%H:%M} to {upto // 60:02d}:{upto % 60:02d}."
            )
        if end > reached:
            reached, reached_at = end, e or time(0)
    if reached < 24 * 60:
        problems.append(
            f"{day} {reached_at:%H:%M}–24:00 has no band: "
            "a board must price every minute of the week."
        )
    return problems


def bands_problems(bands: list[tuple[int, time, time | None]]) -> list[str]:
    """Weekday bands (weekday, starts, ends) that do not tile the week exactly."""
    problems = []
    for weekday, day in enumerate(_DAY_NAMES):
        problems += day_problems([(s, e) for d, s, e in bands if d == weekday], day)
    return problems


def price_lines_dump(price: Price) -> list[dict[str, Any]]:
    """A price's itemised lines as a booking stores them (and the API shows them)."""
    return [
        {
            "label": line.label,
            "starts_at": line.starts_at.isoformat(),
            "ends_at": line.ends_at.isoformat(),
            "units": line.units,
            "unit_price": str(line.unit_price),
            "amount": str(line.amount),
        }
        for line in price.lines
    ]


def cancellation_fee(
    version: RateVersion, *, price: Decimal, starts_at: datetime, at: datetime
) -> Decimal:
    """The version's cancellation policy: free until ``cancel_free_hours`` before the start,
    then ``cancel_fee_percent`` of the price or ``cancel_fee_fixed`` (never more than the
    price); no fee set means cancelling stays free."""
    if at < starts_at - timedelta(hours=version.cancel_free_hours):
        return Decimal("0.00")
    if version.cancel_fee_percent is not None:
        fee = price * version.cancel_fee_percent / 100
    elif version.cancel_fee_fixed is not None:
        fee = version.cancel_fee_fixed
    else:
        return Decimal("0.00")
    return min(fee, price).quantize(CENT, rounding=ROUND_HALF_UP)
