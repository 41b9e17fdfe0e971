"""Properties of the rate-board engine (facilities.rating) over random boards and windows.

Boards: random bands tiling every weekday (units of 15/30/60 min, prices 0.00–20.00),
optionally a daily maximum, an overnight maximum, early birds, special days, spot-kind
adjustments and a minimum charge. Windows: whole minutes, up to ten days, in Helsinki or
New York, many of them placed around the 2026 daylight-saving transitions of both zones.
The fast engine is held against the minute-by-minute reference, and boards made from an
old rate plan against the old engine (tests.facilities.legacy_pricing).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from facilities.rating import (
    Band,
    Board,
    EarlyBird,
    KindAdjustment,
    Overnight,
    Price,
    SpecialDay,
    board_from_plan,
    price_window,
    price_window_reference,
)
from tests.facilities.legacy_pricing import _day_boundaries, window_price

ZONES = ("Europe/Helsinki", "America/New_York")
# The 2026 daylight-saving transitions, as UTC instants.
TRANSITIONS = {
    "Europe/Helsinki": (
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 EET → 04:00 EEST
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 04:00 EEST → 03:00 EET
    ),
    "America/New_York": (
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 02:00 EST → 03:00 EDT
        datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # 02:00 EDT → 01:00 EST
    ),
}
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = (None, "ev", "motorcycle", "standard")
# Times of day that sit on or next to the transitions get extra weight.
DST_MINUTES = (60, 90, 120, 150, 180, 210, 240, 270)

money = st.integers(0, 2000).map(lambda cents: Decimal(cents) / 100)
big_money = st.integers(0, 10000).map(lambda cents: Decimal(cents) / 100)
day_minute = st.one_of(st.sampled_from(DST_MINUTES), st.integers(1, 95).map(lambda q: q * 15))


def as_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def minute_of_day(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


@st.composite
def tariffs(draw):
    return (draw(st.sampled_from((15, 30, 60))), draw(money))


@st.composite
def day_bands(draw, weekday: int, pool) -> list[Band]:
    """Bands tiling one day exactly, their tariffs drawn from a small pool (so that
    neighbouring bands often share a tariff and merge into one stretch)."""
    cuts = sorted(draw(st.lists(day_minute, max_size=3, unique=True)))
    edges = [0, *cuts, None]
    bands = []
    for starts, ends in zip(edges, edges[1:], strict=False):
        unit, price = draw(st.sampled_from(pool))
        label = draw(st.sampled_from(("", "", "", "Peak")))
        bands.append(
            Band(
                weekday,
                as_time(starts),
                None if ends is None else as_time(ends),
                unit,
                price,
                label,
            )
        )
    return bands


@st.composite
def windows(draw, tz_name: str):
    """``(starts_at, ends_at)``, whole minutes, local to ``tz_name``."""
    tz = ZoneInfo(tz_name)
    anchor = draw(
        st.one_of(
            st.sampled_from(TRANSITIONS[tz_name]),
            st.integers(0, 364 * 24 * 60).map(lambda m: YEAR_START + timedelta(minutes=m)),
        )
    )
    shape = draw(st.sampled_from(("around", "across", "day")))
    if shape == "around":  # any window that starts up to 3 days before the anchor
        starts_at = anchor + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 24 * 60)))
        minutes = draw(
            st.one_of(
                st.integers(1, 6 * 60), st.integers(1, 2 * 24 * 60), st.integers(1, 10 * 24 * 60)
            )
        )
        ends_at = starts_at + timedelta(minutes=minutes)
    elif shape == "across":  # a window over (or from) a daylight-saving transition
        transition = draw(st.sampled_from(TRANSITIONS[tz_name]))
        before = draw(st.one_of(st.integers(0, 3 * 60), st.integers(0, 36 * 60)))
        after = draw(st.one_of(st.integers(1, 3 * 60), st.integers(1, 36 * 60)))
        starts_at = transition - timedelta(minutes=before)
        ends_at = transition + timedelta(minutes=after)
    else:  # a commuter's day on the anchor's local date (early birds' territory)
        day = anchor.astimezone(tz).date()
        enter = draw(st.integers(5 * 60, 10 * 60))
        leave = draw(st.integers(13 * 60, 21 * 60))
        starts_at = datetime.combine(day, as_time(enter), tzinfo=tz)
        ends_at = datetime.combine(day, as_time(leave), tzinfo=tz)
    return starts_at.astimezone(tz), ends_at.astimezone(tz)


@st.composite
def boards(draw, tz_name: str, near: date, *, extras: bool = True, window=None) -> Board:
    """A random board; ``window`` (local start and end) lets early birds fit around it."""
    pool = draw(st.lists(tariffs(), min_size=1, max_size=3))
    bands = []
    for weekday in range(7):
        bands += draw(day_bands(weekday, pool))
    rules: dict = {}
    if extras:
        rules["daily_max"] = draw(st.none() | big_money)
        if draw(st.booleans()):
            rules["overnight"] = Overnight(
                starts=as_time(draw(st.sampled_from((17 * 60, 18 * 60, 20 * 60, 22 * 60, 150)))),
                ends=as_time(draw(st.sampled_from((6 * 60, 8 * 60, 210, 240, 90)))),
                maximum=draw(big_money),
            )
        birds = []
        for _ in range(draw(st.integers(0, 2))):
            if window is not None and draw(st.booleans()):
                # Fitted around the window's local entry and exit (often exactly on an edge).
                entry, leave = (minute_of_day(moment) for moment in window)
                enter_from = max(0, entry - draw(st.integers(0, 90)))
                enter_until = min(24 * 60 - 1, entry + draw(st.integers(0, 90)))
                leave_from = max(enter_from, leave - draw(st.integers(0, 90)))
                leave_until = min(24 * 60 - 1, leave + draw(st.integers(0, 90)))
                weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
                weekdays |= {window[0].weekday()} if draw(st.booleans()) else set()
            else:
                enter_from = draw(st.integers(5 * 60, 9 * 60))
                enter_until = enter_from + draw(st.integers(30, 180))
                leave_from = draw(st.integers(14 * 60, 18 * 60))
                leave_until = leave_from + draw(st.integers(0, 240))
                weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
            birds.append(
                EarlyBird(
                    enter_from=as_time(enter_from),
                    enter_until=as_time(enter_until),
                    leave_from=as_time(leave_from),
                    leave_until=as_time(leave_until),
                    price=draw(money),
                    weekdays=weekdays,
                    label=draw(st.sampled_from(("Early bird", "Commuter"))),
                )
            )
        rules["early_birds"] = tuple(birds)
        specials = []
        for index in range(draw(st.integers(0, 2))):
            first = near + timedelta(days=draw(st.integers(-2, 5)))
            last = first + timedelta(days=draw(st.integers(0, 2)))
            if draw(st.booleans()):
                specials.append(SpecialDay(first, last, f"Special {index}", flat_price=draw(money)))
            else:
                own = tuple(draw(day_bands(0, draw(st.lists(tariffs(), min_size=1, max_size=2)))))
                specials.append(SpecialDay(first, last, f"Special {index}", bands=own))
        rules["special_days"] = tuple(specials)
        adjustments = []
        for kind in draw(st.lists(st.sampled_from(("ev", "motorcycle")), unique=True)):
            adjustments.append(
                KindAdjustment(
                    kind=kind,
                    per_hour=Decimal(draw(st.sampled_from(("0", "0.50", "1.00", "-1.00", "2.25")))),
                    percent=Decimal(
                        draw(st.sampled_from(("0", "-50", "-100", "10", "12.5", "25")))
                    ),
                )
            )
        rules["kind_adjustments"] = tuple(adjustments)
        rules["minimum_charge"] = draw(st.just(Decimal(0)) | money)
    return Board(
        timezone=tz_name,
        currency="EUR",
        vat_percent=Decimal(draw(st.sampled_from(("0", "10", "14", "24", "25.5")))),
        bands=tuple(bands),
        **rules,
    )


@st.composite
def priced_windows(draw):
    """``(board, starts_at, ends_at, kind)``."""
    tz_name = draw(st.sampled_from(ZONES))
    starts_at, ends_at = draw(windows(tz_name))
    board = draw(boards(tz_name, starts_at.date(), window=(starts_at, ends_at)))
    return board, starts_at, ends_at, draw(st.sampled_from(KINDS))


def utc_lines(price: Price) -> list[tuple]:
    return [
        (
            line.label,
            line.starts_at.astimezone(UTC),
            line.ends_at.astimezone(UTC),
            line.units,
            line.amount,
        )
        for line in price.lines
    ]


def trailing_lines(board: Board, price: Price, kind: str | None) -> int:
    """How many lines at the end of a price are spot-kind and minimum-charge lines."""
    count = int("minimum_charge" in price.rules)
    for adjustment in board.kind_adjustments:
        if adjustment.kind == kind:
            count += (adjustment.per_hour != 0) + (adjustment.percent != 0)
            break
    return count


@settings(max_examples=1000, deadline=None, database=None)
@given(priced_windows())
def test_price_invariants(example):
    board, starts_at, ends_at, kind = example
    price = price_window(board, starts_at=starts_at, ends_at=ends_at, kind=kind)
    # Lines add up to the total exactly; every amount is in cents.
    assert sum(line.amount for line in price.lines) == price.total
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in price.lines)
    # Never below the minimum charge (nor zero); VAT splits to the cent, both parts ≥ 0.
    assert price.total >= board.minimum_charge
    assert price.total >= 0
    assert price.net + price.vat == price.total
    assert price.net >= 0
    assert price.vat >= 0
    assert price.currency == board.currency
    # Each day segment's charges (band stretches, caps, flat dates) stay within the daily
    # maximum: a line belongs to the segment in which it starts.
    if board.daily_max is not None:
        base = price.lines[: len(price.lines) - trailing_lines(board, price, kind)]
        tz = ZoneInfo(board.timezone)
        for seg_start, seg_end in _day_boundaries(starts_at, ends_at, tz):
            in_segment = [
                line for line in base if seg_start <= line.starts_at.astimezone(UTC) < seg_end
            ]
            assert sum(line.amount for line in in_segment) <= board.daily_max
    # Every line lies inside the window (compared as instants: aware datetimes that share a
    # tzinfo compare by wall clock, folds ignored).
    for line in price.lines:
        assert starts_at <= line.starts_at.astimezone(UTC) < line.ends_at.astimezone(UTC) <= ends_at


@settings(max_examples=600, deadline=None, database=None)
@given(priced_windows())
def test_fast_and_reference_engines_agree(example):
    board, starts_at, ends_at, kind = example
    fast = price_window(board, starts_at=starts_at, ends_at=ends_at, kind=kind)
    reference = price_window_reference(board, starts_at=starts_at, ends_at=ends_at, kind=kind)
    assert fast == reference
    assert utc_lines(fast) == utc_lines(reference)  # the instants too, folds included


@st.composite
def windows_inside_one_band(draw):
    tz_name = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(tz_name)
    anchor = draw(
        st.sampled_from(TRANSITIONS[tz_name])
        | st.integers(0, 364).map(lambda d: YEAR_START + timedelta(days=d))
    )
    day = anchor.astimezone(tz).date()
    board = draw(boards(tz_name, day, extras=False))
    board = replace(board, daily_max=draw(st.none() | big_money))
    band = draw(st.sampled_from([b for b in board.bands if b.weekday == day.weekday()]))
    band_start = band.starts.hour * 60 + band.starts.minute
    band_end = 24 * 60 if band.ends is None else band.ends.hour * 60 + band.ends.minute
    first = draw(st.integers(band_start, band_end - 1))
    last = draw(st.integers(first + 1, band_end))
    midnight = datetime.combine(day, time(0))
    starts_at = (midnight + timedelta(minutes=first)).replace(tzinfo=tz)
    ends_at = (midnight + timedelta(minutes=last)).replace(tzinfo=tz)
    return board, band, starts_at, ends_at


@settings(max_examples=400, deadline=None, database=None)
@given(windows_inside_one_band())
def test_a_window_inside_one_band_pays_its_started_units(example):
    board, band, starts_at, ends_at = example
    tz = ZoneInfo(board.timezone)
    real = ends_at.astimezone(UTC) - starts_at.astimezone(UTC)
    assume(real > timedelta(0))
    # Around a transition the wall clock can leave the band (a skipped start, a repeated
    # hour that goes back before the band): keep only windows whose every minute is in it.
    day, minute = starts_at.date(), timedelta(minutes=1)
    band_end = time.max if band.ends is None else band.ends
    moment = starts_at.astimezone(UTC)
    while moment < ends_at.astimezone(UTC):
        wall = moment.astimezone(tz)
        assume(wall.date() == day and band.starts <= wall.time() and (wall.time() < band_end))
        moment += minute
    units = -(-real // timedelta(minutes=band.unit_minutes))
    expected = units * band.unit_price
    if board.daily_max is not None:
        expected = min(expected, board.daily_max)
    price = price_window(board, starts_at=starts_at, ends_at=ends_at)
    assert price.total == expected


@settings(max_examples=1000, deadline=None, database=None)
@given(
    tz_name=st.sampled_from(ZONES),
    hourly_rate=money,
    daily_max=big_money,
    data=st.data(),
)
def test_a_board_from_an_old_plan_prices_like_the_old_engine(tz_name, hourly_rate, daily_max, data):
    starts_at, ends_at = data.draw(windows(tz_name))
    # The old engine takes any instants: shift by a few seconds now and then.
    # (In UTC: arithmetic on a ZoneInfo datetime is wall-clock and drops the fold.)
    seconds = timedelta(seconds=data.draw(st.sampled_from((0, 0, 0, 1, 59))))
    ends_at = (ends_at.astimezone(UTC) + seconds).astimezone(ends_at.tzinfo)

    class Plan:
        pass

    Plan.hourly_rate, Plan.daily_max = hourly_rate, daily_max
    board = board_from_plan(
        hourly_rate=hourly_rate, daily_max=daily_max, timezone=tz_name, currency="EUR"
    )
    price = price_window(board, starts_at=starts_at, ends_at=ends_at)
    # The old engine is handed UTC instants: given datetimes that share a ZoneInfo it
    # compares them by wall clock and prices a window across a fall-back hour whose end
    # reads earlier than its start as 0.00.
    old = window_price(
        rates=Plan,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        timezone_name=tz_name,
    )
    assert price.total == old
    assert (price.net, price.vat) == (old, 0)
