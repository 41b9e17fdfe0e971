"""The pricing engine of rate boards: pure arithmetic, no ORM inside.

A selector turns a facility's rate version (facilities.models.RateVersion and its rules)
into a ``Board`` of plain values; ``price_window`` prices a half-open window
``[starts_at, ends_at)`` for a spot kind on that board. Everything a person reads is in
the board's local time zone.

The rules, in the order they apply:

1. **Day segments.** The window is cut into "days" that run from the window's start to the
   same local wall-clock time the next day (so a daylight-saving day is 23 or 25 real hours
   and is still one day); the last segment ends at the window's end.
2. **Tariff of each instant.** On a local date covered by a special day with bands, those
   bands apply (whatever the weekday); on a special day with a flat price, the part of the
   window on that local date costs the flat price once (one line per special date); on any
   other date, the weekday's bands apply. Bands are local ``[starts, ends)`` times of one
   weekday (``ends`` of ``None`` meaning midnight at the end of the day); a board prices
   every minute of the week (the admin refuses gaps, the engine raises ``BoardGap``).
3. **Stretches and units.** Inside a day segment, consecutive time with the same tariff
   (unit length and unit price) is one stretch, even across midnight or a band boundary;
   a stretch is charged per *started* unit of real elapsed time:
   ``ceil(seconds / unit) × unit price``. A stretch is also cut where an overnight period
   begins or ends, so that the overnight maximum can apply to it alone.
4. **Overnight maximum.** When the board has one, the band charges of the stretches inside
   one overnight period (e.g. 18:00 → 08:00 the next morning) are capped at it.
5. **Daily maximum.** The band charges of one day segment (after overnight caps, plus
   special-day flat prices) are capped at the daily maximum.
6. **Early bird.** When the window enters within an early bird's entry period and leaves
   within its exit period on the same local date (on one of its weekdays), that flat price
   is a candidate too; the driver pays the lower of the standard price and every early
   bird that applies (ties go to the standard price).
7. **Spot kind.** An adjustment for the window's spot kind then adds ``per_hour`` for each
   started hour of the whole window and/or ``percent`` of the price so far (−50 halves it).
8. **Minimum charge.** The total is at least the minimum charge.

Money is Decimal, rounded half-up to the cent at each line. Prices include VAT:
``net = total / (1 + vat_percent/100)`` rounded to the cent, ``vat = total − net``. The
lines of a price always add up to its total: caps and the minimum are lines of their own
(negative for a cap).

How the engine reads the points the rules leave open:

* **Wall clock, instant by instant.** Which band, date, weekday, special day and overnight
  period an instant belongs to is read from its local wall-clock time. The hour a
  spring-forward night skips has no instants, so it is never charged; the hour a fall-back
  night repeats is lived (and charged) twice, and a band boundary inside it is crossed
  twice. Elapsed time (units, started hours) is always real time, computed in UTC.
  Day-segment boundaries are computed exactly as the old single-plan engine did (the start's
  wall-clock time on the following dates, ``fold=0``), so ``board_from_plan`` boards price
  like the old engine.
* **Instants.** ``starts_at`` and ``ends_at`` may carry any tzinfo; they are compared and
  subtracted as instants (in UTC). Python compares two datetimes that share a ``ZoneInfo``
  by wall clock, so 03:59 just before a fall-back would otherwise look later than 03:00
  ``fold=1`` one real minute after it.
* **Bands.** Where bands of one day overlap, the first in board order wins. A band whose
  ``ends`` is not after its ``starts`` covers nothing. A stretch is labelled after the band
  it starts in: the band's own label, else ``"Mon 08:00–18:00"`` (a special day's band:
  ``"<special day label> 08:00–18:00"``).
* **Special days.** When several special days cover a date, the first in board order wins;
  a special day with a ``flat_price`` is flat even if it also has bands. A flat date's
  line runs from the window's first to its last instant on that date and belongs to the
  day segment in which the window enters that date (its daily maximum counts it), even
  when the date straddles a segment boundary: the flat price is charged once per date.
* **Overnight periods** start on a local date at ``starts`` and end at the next ``ends``
  (the next morning when ``ends <= starts``, else the same date). The overnight maximum
  caps the stretches of one overnight period *inside one day segment*: caps, like the
  daily maximum, are applied per day segment, so a night that straddles a segment boundary
  is capped on each side separately (so every cap line lies inside one segment, and every
  segment's charges stay at most the daily maximum). Flat special dates are not band charges
  and are never under the overnight maximum.
* **Line order.** Segment after segment: the stretch and flat-date lines of a segment in
  time order, each "Overnight maximum" line right after the last stretch it caps, the
  "Daily maximum" line closing its segment; then the spot-kind lines and the "Minimum
  charge" line. When an early bird wins it replaces all the segment lines with one line.
  Cap, flat, early-bird, percent and minimum lines have ``units == 1`` and
  ``unit_price == amount``; cap, early-bird, kind and minimum lines span the window or
  the capped time.
* **Early bird.** Entry is ``enter_from <= local start < enter_until``, exit is
  ``leave_from <= local end <= leave_until``, both on one local date whose weekday is in
  ``weekdays``. It wins only when strictly cheaper than the standard price (rules 1–5);
  among equally cheap early birds the first in board order wins.
* **Spot kind.** The first adjustment whose ``kind`` matches applies (none when ``kind`` is
  ``None``). ``per_hour`` comes first (a line ``"EV surcharge 3 h × 1.00"``, "discount"
  when negative), then ``percent`` of everything so far, the per-hour line included (a
  line ``"Motorcycle −50 %"``). A zero part makes no line.
* **Minimum charge.** The total is lifted to ``max(minimum_charge, 0)``: a price is never
  negative, even after a negative per-hour adjustment.
* **rules** lists, in the order of the tuple ``RULES``, the rules behind the price's
  lines: ``"bands"`` (some stretch), ``"special_day"`` (the window touches a special date
  and the standard price is paid), ``"overnight_max"``, ``"daily_max"`` (a cap line),
  ``"early_bird"`` (it won), ``"kind_adjustment"``, ``"minimum_charge"``.

``price_window`` is the fast implementation (it walks the window from one wall-clock event
to the next: band boundaries, midnights, overnight boundaries, offset changes);
``price_window_reference`` is a deliberately naive minute-by-minute one that shares no
helper with it, so that tests can hold one against the other.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
UNIT_MINUTES = (15, 30, 60)
RULES = (
    "bands",
    "special_day",
    "overnight_max",
    "daily_max",
    "early_bird",
    "kind_adjustment",
    "minimum_charge",
)


class BoardGap(ValueError):
    """The board has no band for some minute of the window."""


@dataclass(frozen=True)
class Band:
    """Local ``[starts, ends)`` on ``weekday`` (0 = Monday; ignored in a special day's
    bands); ``ends=None`` is midnight at the end of the day."""

    weekday: int
    starts: time
    ends: time | None
    unit_minutes: int
    unit_price: Decimal
    label: str = ""


@dataclass(frozen=True)
class Overnight:
    """Local ``starts`` in the evening to ``ends`` the next morning, capped at ``maximum``."""

    starts: time
    ends: time
    maximum: Decimal


@dataclass(frozen=True)
class EarlyBird:
    """Enter in ``[enter_from, enter_until)``, leave in ``[leave_from, leave_until]`` on the
    same local date, on one of ``weekdays`` → ``price`` flat."""

    enter_from: time
    enter_until: time
    leave_from: time
    leave_until: time
    price: Decimal
    weekdays: frozenset[int] = frozenset(range(7))
    label: str = "Early bird"


@dataclass(frozen=True)
class SpecialDay:
    """Local dates ``first``..``last`` (both included) priced by their own ``bands`` (every
    date the same) or, when ``flat_price`` is set, that price once per date."""

    first: date
    last: date
    label: str
    flat_price: Decimal | None = None
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class KindAdjustment:
    kind: str
    per_hour: Decimal = Decimal("0")
    percent: Decimal = Decimal("0")


@dataclass(frozen=True)
class Board:
    timezone: str
    currency: str
    vat_percent: Decimal
    bands: tuple[Band, ...]
    daily_max: Decimal | None = None
    overnight: Overnight | None = None
    early_birds: tuple[EarlyBird, ...] = ()
    special_days: tuple[SpecialDay, ...] = ()
    kind_adjustments: tuple[KindAdjustment, ...] = ()
    minimum_charge: Decimal = Decimal("0")
    version_id: int | None = None


@dataclass(frozen=True)
class Line:
    label: str
    starts_at: datetime  # local
    ends_at: datetime  # local
    units: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Price:
    currency: str
    lines: tuple[Line, ...]
    total: Decimal
    net: Decimal
    vat: Decimal
    vat_percent: Decimal
    rules: tuple[str, ...] = field(default=())  # which rules applied: "bands", "daily_max", …


def split_vat(total: Decimal, vat_percent: Decimal) -> tuple[Decimal, Decimal]:
    """``(net, vat)`` of a VAT-inclusive total: net rounded half-up to the cent, the VAT
    the rest, so ``net + vat == total`` exactly."""
    net = (total * 100 / (100 + vat_percent)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, total - net


def board_from_plan(
    *, hourly_rate: Decimal, daily_max: Decimal, timezone: str, currency: str
) -> Board:
    """The 24/7 board of an old-style rate plan: every started hour at ``hourly_rate``,
    each day segment capped at ``daily_max``. It prices every window exactly like
    the old single-plan engine (tests/facilities/legacy_pricing.py) for cent-valued rates,
    as the models store them."""
    return Board(
        timezone=timezone,
        currency=currency,
        vat_percent=Decimal("0"),
        bands=tuple(Band(weekday, time(0), None, 60, hourly_rate) for weekday in range(7)),
        daily_max=daily_max,
    )


# --- The fast implementation ------------------------------------------------------------

_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    for value in (starts_at, ends_at):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a window needs time-zone-aware datetimes")
    # As instants: aware datetimes sharing a tzinfo compare by wall clock, so 03:59 before a
    # fall-back would wrongly come "after" 03:00 fold=1, one real minute later.
    if ends_at.astimezone(UTC) <= starts_at.astimezone(UTC):
        raise ValueError("a window must end after it starts")


def _time_of_day(value: time | None) -> timedelta:
    """``value`` as an offset from midnight; ``None`` is midnight at the end of the day."""
    if value is None:
        return _DAY
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _hhmm(value: time | None) -> str:
    return "24:00" if value is None else f"{value:%H:%M}"


def _band_label(band: Band, special: SpecialDay | None) -> str:
    if band.label:
        return band.label
    prefix = special.label if special is not None else _WEEKDAY_NAMES[band.weekday]
    return f"{prefix} {_hhmm(band.starts)}–{_hhmm(band.ends)}"


def _kind_name(kind: str) -> str:
    return kind.upper() if len(kind) <= 2 else kind.capitalize()


def _percent_text(percent: Decimal) -> str:
    sign = "+" if percent > 0 else "−"
    magnitude = abs(percent)
    if magnitude == magnitude.to_integral_value():
        magnitude = magnitude.quantize(Decimal(1))
    return f"{sign}{magnitude} %"


def _day_segments(
    start: datetime, end: datetime, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """Rule 1, in UTC; the same boundaries as the old single-plan engine (kept in the
    tests as an oracle)."""
    wall_start = start.astimezone(tz).replace(tzinfo=None)
    segment_start, day = start, 0
    while segment_start < end:
        day += 1
        boundary = (wall_start + day * _DAY).replace(tzinfo=tz).astimezone(UTC)
        segment_end = min(boundary, end)
        if segment_end <= segment_start:  # pathological zone data, as the old engine does
            segment_end = min(segment_start + 24 * _HOUR, end)
        yield segment_start, segment_end
        segment_start = segment_end


def _utc_offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # noqa: S101 - a ZoneInfo always has one
    return offset


def _offset_runs(
    start: datetime, end: datetime, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """``[start, end)`` cut where the zone's UTC offset changes: ``(from, to, offset)``.
    Offsets change at whole UTC seconds; a change is found by bisection on seconds."""
    while start < end:
        offset = _utc_offset(start, tz)
        last = end - timedelta(microseconds=1)
        if _utc_offset(last, tz) == offset:
            yield start, end, offset
            return
        low, high = (start - _EPOCH) // _SECOND, (last - _EPOCH) // _SECOND
        while high - low > 1:
            middle = (low + high) // 2
            if _utc_offset(_EPOCH + middle * _SECOND, tz) == offset:
                low = middle
            else:
                high = middle
        change = _EPOCH + high * _SECOND
        yield start, change, offset
        start = change


@dataclass(frozen=True)
class _DayPlan:
    """How one local date is priced: flat, or by disjoint ``spans`` of bands."""

    special: SpecialDay | None
    flat: bool
    spans: tuple[tuple[timedelta, timedelta, Band], ...] = ()


def _resolve_spans(bands: tuple[Band, ...]) -> tuple[tuple[timedelta, timedelta, Band], ...]:
    """Disjoint ``(from, to, band)`` spans of a day, first band in order winning overlaps."""
    return tuple((low, high, bands[index]) for low, high, index in _span_indexes(bands))


@functools.lru_cache(maxsize=4096)
def _span_indexes(bands: tuple[Band, ...]) -> tuple[tuple[timedelta, timedelta, int], ...]:
    """``_resolve_spans`` with indexes into ``bands``, cached by value."""
    points = {timedelta(0), _DAY}
    for band in bands:
        points.add(_time_of_day(band.starts))
        points.add(_time_of_day(band.ends))
    ordered = sorted(point for point in points if timedelta(0) <= point <= _DAY)
    spans: list[tuple[timedelta, timedelta, int]] = []
    for low, high in zip(ordered, ordered[1:], strict=False):
        index = next(
            (
                i
                for i, b in enumerate(bands)
                if _time_of_day(b.starts) <= low < _time_of_day(b.ends)
            ),
            None,
        )
        if index is None:
            continue
        if spans and spans[-1][2] == index and spans[-1][1] == low:
            spans[-1] = (spans[-1][0], high, index)
        else:
            spans.append((low, high, index))
    return tuple(spans)


class _Plans:
    """Day plans of one board, computed once per weekday and special day."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self._weekdays: dict[int, _DayPlan] = {}
        self._specials: dict[int, _DayPlan] = {}
        self._dates: dict[date, _DayPlan] = {}
        self.labels: dict[tuple[int, int], str] = {}  # by id() of band and special day

    def of(self, day: date) -> _DayPlan:
        plan = self._dates.get(day)
        if plan is None:
            plan = self._dates[day] = self._compute(day)
        return plan

    def _compute(self, day: date) -> _DayPlan:
        for index, special in enumerate(self.board.special_days):
            if special.first <= day <= special.last:
                if special.flat_price is not None:
                    return _DayPlan(special, flat=True)
                if index not in self._specials:
                    spans = _resolve_spans(special.bands)
                    self._specials[index] = _DayPlan(special, flat=False, spans=spans)
                return self._specials[index]
        weekday = day.weekday()
        if weekday not in self._weekdays:
            bands = tuple(band for band in self.board.bands if band.weekday == weekday)
            self._weekdays[weekday] = _DayPlan(None, flat=False, spans=_resolve_spans(bands))
        return self._weekdays[weekday]


def _overnight_id(begins: timedelta, ends: timedelta, wall: datetime) -> date | None:
    """The local date on which the overnight period (``begins``/``ends`` as times of day)
    holding the wall-clock time ``wall`` begins, if any."""
    day = wall.date()
    moment = wall - datetime.combine(day, time(0))
    if ends > begins:
        return day if begins <= moment < ends else None
    if moment >= begins:
        return day
    if moment < ends:
        return day - _DAY
    return None


@dataclass
class _Stretch:
    key: tuple[int, Decimal]
    night: date | None
    starts: datetime  # UTC
    ends: datetime  # UTC
    label: str

    def line(self, tz: ZoneInfo) -> Line:
        unit_minutes, unit_price = self.key
        unit = timedelta(minutes=unit_minutes)
        units = -(-(self.ends - self.starts) // unit)
        return Line(
            self.label,
            self.starts.astimezone(tz),
            self.ends.astimezone(tz),
            units,
            unit_price,
            _money(units * unit_price),
        )


@dataclass
class _FlatDate:
    day: date
    special: SpecialDay
    starts: datetime  # UTC
    ends: datetime  # UTC

    def line(self, tz: ZoneInfo) -> Line:
        assert self.special.flat_price is not None  # noqa: S101
        amount = _money(self.special.flat_price)
        return Line(
            self.special.label,
            self.starts.astimezone(tz),
            self.ends.astimezone(tz),
            1,
            amount,
            amount,
        )


def _segment_items(
    board: Board,
    plans: _Plans,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    flats: dict[date, _FlatDate],
) -> tuple[list[_Stretch | _FlatDate], bool]:
    """Rules 2 and 3 for one day segment: its stretches and the flat dates it enters, in
    time order, and whether any of its time is on a special date."""
    night_points = None
    if board.overnight is not None:
        night_points = (_time_of_day(board.overnight.starts), _time_of_day(board.overnight.ends))
    labels = plans.labels
    items: list[_Stretch | _FlatDate] = []
    current: _Stretch | None = None
    special_seen = False
    for run_start, run_end, offset in _offset_runs(start, end, tz):
        wall = (run_start + offset).replace(tzinfo=None)
        wall_end = (run_end + offset).replace(tzinfo=None)
        while wall < wall_end:
            day = wall.date()
            midnight = datetime.combine(day, time(0))
            plan = plans.of(day)
            stop = min(wall_end, midnight + _DAY)
            special_seen = special_seen or plan.special is not None
            piece_start = (wall - offset).replace(tzinfo=UTC)
            if plan.flat:
                assert plan.special is not None  # noqa: S101
                piece_end = (stop - offset).replace(tzinfo=UTC)
                flat = flats.get(day)
                if flat is None:
                    flat = flats[day] = _FlatDate(day, plan.special, piece_start, piece_end)
                    items.append(flat)
                else:
                    flat.ends = piece_end
                current = None
                wall = stop
                continue
            moment = wall - midnight
            span = next((s for s in plan.spans if s[0] <= moment < s[1]), None)
            if span is None:
                raise BoardGap(f"no band for {wall:%a %Y-%m-%d %H:%M} ({board.timezone})")
            stop = min(stop, midnight + span[1])
            night = None
            if night_points is not None:
                night = _overnight_id(night_points[0], night_points[1], wall)
                for point in night_points:
                    if midnight + point > wall:
                        stop = min(stop, midnight + point)
            piece_end = (stop - offset).replace(tzinfo=UTC)
            band = span[2]
            key = (band.unit_minutes, band.unit_price)
            if (
                current is not None
                and current.key == key
                and current.night == night
                and current.ends == piece_start
            ):
                current.ends = piece_end
            else:
                label = labels.get((id(band), id(plan.special)))
                if label is None:
                    label = labels[id(band), id(plan.special)] = _band_label(band, plan.special)
                current = _Stretch(key, night, piece_start, piece_end, label)
                items.append(current)
            wall = stop
    return items, special_seen


def _segment_lines(
    board: Board, tz: ZoneInfo, start: datetime, end: datetime, items: list[_Stretch | _FlatDate]
) -> tuple[list[Line], set[str]]:
    """Rules 4 and 5 for one day segment."""
    applied: set[str] = set()
    last_of_night: dict[date, int] = {}
    night_total: dict[date, Decimal] = {}
    night_start: dict[date, datetime] = {}
    item_lines = [item.line(tz) for item in items]
    for index, item in enumerate(items):
        if isinstance(item, _Stretch):
            applied.add("bands")
            if item.night is not None:
                last_of_night[item.night] = index
                night_total[item.night] = night_total.get(item.night, Decimal(0)) + (
                    item_lines[index].amount
                )
                night_start.setdefault(item.night, item.starts)
    lines: list[Line] = []
    for index, line in enumerate(item_lines):
        lines.append(line)
        item = items[index]
        if (
            board.overnight is not None
            and isinstance(item, _Stretch)
            and item.night is not None
            and last_of_night[item.night] == index
            and night_total[item.night] > board.overnight.maximum
        ):
            cut = _money(board.overnight.maximum - night_total[item.night])
            lines.append(
                Line(
                    "Overnight maximum",
                    night_start[item.night].astimezone(tz),
                    line.ends_at,
                    1,
                    cut,
                    cut,
                )
            )
            applied.add("overnight_max")
    subtotal = sum((line.amount for line in lines), Decimal(0))
    if board.daily_max is not None and subtotal > board.daily_max:
        cut = _money(board.daily_max - subtotal)
        lines.append(Line("Daily maximum", start.astimezone(tz), end.astimezone(tz), 1, cut, cut))
        applied.add("daily_max")
    return lines, applied


def _early_bird(board: Board, local_start: datetime, local_end: datetime) -> EarlyBird | None:
    """The cheapest early bird the window qualifies for (the first among equals)."""
    best: EarlyBird | None = None
    if local_start.date() != local_end.date():
        return None
    entered, left = local_start.time(), local_end.time()
    for bird in board.early_birds:
        if (
            local_start.weekday() in bird.weekdays
            and bird.enter_from <= entered < bird.enter_until
            and bird.leave_from <= left <= bird.leave_until
            and (best is None or _money(bird.price) < _money(best.price))
        ):
            best = bird
    return best


def _finish(
    board: Board,
    lines: list[Line],
    applied: set[str],
    *,
    local_start: datetime,
    local_end: datetime,
    elapsed: timedelta,
    kind: str | None,
) -> Price:
    """Rules 7 and 8, the total and the VAT split."""
    adjustment = next(
        (a for a in board.kind_adjustments if kind is not None and a.kind == kind), None
    )
    if adjustment is not None:
        name = _kind_name(adjustment.kind)
        if adjustment.per_hour:
            hours = -(-elapsed // _HOUR)
            word = "surcharge" if adjustment.per_hour > 0 else "discount"
            amount = _money(hours * adjustment.per_hour)
            label = f"{name} {word} {hours} h × {abs(adjustment.per_hour)}"
            lines.append(Line(label, local_start, local_end, hours, adjustment.per_hour, amount))
            applied.add("kind_adjustment")
        if adjustment.percent:
            so_far = sum((line.amount for line in lines), Decimal(0))
            amount = _money(so_far * adjustment.percent / 100)
            label = f"{name} {_percent_text(adjustment.percent)}"
            lines.append(Line(label, local_start, local_end, 1, amount, amount))
            applied.add("kind_adjustment")
    total = sum((line.amount for line in lines), Decimal(0))
    floor = max(board.minimum_charge, Decimal(0))
    if total < floor:
        lift = _money(floor - total)
        lines.append(Line("Minimum charge", local_start, local_end, 1, lift, lift))
        applied.add("minimum_charge")
        total += lift
    total = _money(total)
    net, vat = split_vat(total, board.vat_percent)
    return Price(
        currency=board.currency,
        lines=tuple(lines),
        total=total,
        net=net,
        vat=vat,
        vat_percent=board.vat_percent,
        rules=tuple(rule for rule in RULES if rule in applied),
    )


def price_window(
    board: Board, *, starts_at: datetime, ends_at: datetime, kind: str | None = None
) -> Price:
    """The price of ``[starts_at, ends_at)`` on ``board`` for a spot of ``kind``.

    Raises ``ValueError`` for naive datetimes or an empty window, ``BoardGap`` when some
    instant of the window has no band."""
    _check_window(starts_at, ends_at)
    tz = ZoneInfo(board.timezone)
    start, end = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    plans = _Plans(board)
    flats: dict[date, _FlatDate] = {}
    segments = []
    special_seen = False
    for segment_start, segment_end in _day_segments(start, end, tz):
        items, seen = _segment_items(board, plans, tz, segment_start, segment_end, flats)
        special_seen = special_seen or seen
        segments.append((segment_start, segment_end, items))
    # Lines only now: a flat date's line may grow in the next segment.
    lines: list[Line] = []
    applied: set[str] = set()
    for segment_start, segment_end, items in segments:
        segment_lines, segment_applied = _segment_lines(
            board, tz, segment_start, segment_end, items
        )
        lines.extend(segment_lines)
        applied |= segment_applied
    if special_seen:
        applied.add("special_day")
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    standard = sum((line.amount for line in lines), Decimal(0))
    bird = _early_bird(board, local_start, local_end)
    if bird is not None and _money(bird.price) < standard:
        price = _money(bird.price)
        lines = [Line(bird.label, local_start, local_end, 1, price, price)]
        applied = {"early_bird"}
    return _finish(
        board,
        lines,
        applied,
        local_start=local_start,
        local_end=local_end,
        elapsed=end - start,
        kind=kind,
    )


# --- The reference implementation -------------------------------------------------------


def price_window_reference(
    board: Board, *, starts_at: datetime, ends_at: datetime, kind: str | None = None
) -> Price:
    """``price_window`` the slow, obvious way, for tests: walk the window minute by minute,
    look each minute's tariff up on the wall clock, group the minutes into stretches, then
    apply the caps and the other rules. Shares nothing with the fast implementation but the
    data types and ``split_vat``. Whole-minute windows and board times only."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("naive datetime")
    if starts_at.utcoffset() is None or ends_at.utcoffset() is None:
        raise ValueError("naive datetime")
    if not starts_at.astimezone(UTC) < ends_at.astimezone(UTC):
        raise ValueError("empty window")
    if starts_at.second or starts_at.microsecond or ends_at.second or ends_at.microsecond:
        raise ValueError("the reference prices whole minutes only")
    zone = ZoneInfo(board.timezone)
    first = starts_at.astimezone(UTC)
    last = ends_at.astimezone(UTC)
    minute = timedelta(minutes=1)
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    def cents(value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    # Rule 1: where each day segment ends (UTC).
    opening = first.astimezone(zone)
    segment_ends = []
    previous = first
    days = 1
    while previous < last:
        next_date = opening.date() + timedelta(days=days)
        boundary = datetime(
            next_date.year,
            next_date.month,
            next_date.day,
            opening.hour,
            opening.minute,
            tzinfo=zone,
        ).astimezone(UTC)
        if boundary <= previous:
            boundary = previous + timedelta(hours=24)
        previous = min(boundary, last)
        segment_ends.append(previous)
        days += 1

    # Rule 2: the tariff of one wall-clock minute.
    def special_of(day: date) -> SpecialDay | None:
        for special in board.special_days:
            if special.first <= day <= special.last:
                return special
        return None

    def band_of(wall: datetime, special: SpecialDay | None) -> Band:
        if special is not None:
            candidates = list(special.bands)
        else:
            candidates = [b for b in board.bands if b.weekday == wall.weekday()]
        for band in candidates:
            if band.starts <= wall.time() and (band.ends is None or wall.time() < band.ends):
                return band
        raise BoardGap(f"no band at {wall}")

    def night_of(wall: datetime) -> date | None:
        night = board.overnight
        if night is None:
            return None
        for day in (wall.date(), wall.date() - timedelta(days=1)):
            opens = datetime.combine(day, night.starts)
            closes_on = day + timedelta(days=1) if night.ends <= night.starts else day
            closes = datetime.combine(closes_on, night.ends)
            if opens <= wall < closes:
                return day
        return None

    # Rules 2 and 3: every minute, then runs of equal minutes.
    stretches: list[dict] = []  # segment, key, night, starts, ends, label
    flat_dates: dict[date, dict] = {}  # segment, starts, ends, special
    touched_special = False
    segment = 0
    moment = first
    while moment < last:
        while moment >= segment_ends[segment]:
            segment += 1
        wall = moment.astimezone(zone).replace(tzinfo=None)
        special = special_of(wall.date())
        touched_special = touched_special or special is not None
        if special is not None and special.flat_price is not None:
            if wall.date() not in flat_dates:
                flat_dates[wall.date()] = {
                    "segment": segment,
                    "starts": moment,
                    "ends": moment + minute,
                    "special": special,
                }
            flat_dates[wall.date()]["ends"] = moment + minute
            stretches.append({"segment": None})  # a flat minute breaks any stretch
            moment += minute
            continue
        band = band_of(wall, special)
        key = (band.unit_minutes, band.unit_price)
        night = night_of(wall)
        previous_stretch = stretches[-1] if stretches else None
        if (
            previous_stretch is not None
            and previous_stretch["segment"] == segment
            and previous_stretch["key"] == key
            and previous_stretch["night"] == night
        ):
            previous_stretch["ends"] = moment + minute
        else:
            if band.label:
                label = band.label
            else:
                prefix = special.label if special is not None else names[band.weekday]
                until = "24:00" if band.ends is None else band.ends.strftime("%H:%M")
                label = f"{prefix} {band.starts.strftime('%H:%M')}–{until}"
            stretches.append(
                {
                    "segment": segment,
                    "key": key,
                    "night": night,
                    "starts": moment,
                    "ends": moment + minute,
                    "label": label,
                }
            )
        moment += minute
    stretches = [s for s in stretches if s["segment"] is not None]

    # Rules 3 to 5, one segment at a time.
    lines: list[Line] = []
    used: set[str] = set()
    segment_start = first
    for index, segment_end in enumerate(segment_ends):
        entries = []  # (starts, line, night or None, is_stretch)
        for s in stretches:
            if s["segment"] != index:
                continue
            unit_minutes, unit_price = s["key"]
            seconds = int((s["ends"] - s["starts"]).total_seconds())
            units = math.ceil(seconds / (unit_minutes * 60))
            line = Line(
                s["label"],
                s["starts"].astimezone(zone),
                s["ends"].astimezone(zone),
                units,
                unit_price,
                cents(unit_price * units),
            )
            entries.append((s["starts"], line, s["night"], True))
            used.add("bands")
        for flat in flat_dates.values():
            if flat["segment"] == index:
                price = cents(flat["special"].flat_price)
                line = Line(
                    flat["special"].label,
                    flat["starts"].astimezone(zone),
                    flat["ends"].astimezone(zone),
                    1,
                    price,
                    price,
                )
                entries.append((flat["starts"], line, None, False))
        entries.sort(key=lambda entry: entry[0])
        segment_lines: list[Line] = []
        for position, (_, line, night, is_stretch) in enumerate(entries):
            segment_lines.append(line)
            if not is_stretch or night is None or board.overnight is None:
                continue
            later = [e for e in entries[position + 1 :] if e[3] and e[2] == night]
            if later:
                continue  # the cap follows the night's last stretch
            of_night = [e[1] for e in entries if e[3] and e[2] == night]
            charged = sum(e.amount for e in of_night)
            if charged > board.overnight.maximum:
                cap = cents(board.overnight.maximum - charged)
                segment_lines.append(
                    Line("Overnight maximum", of_night[0].starts_at, line.ends_at, 1, cap, cap)
                )
                used.add("overnight_max")
        charged = sum(line.amount for line in segment_lines)
        if board.daily_max is not None and charged > board.daily_max:
            cap = cents(board.daily_max - charged)
            segment_lines.append(
                Line(
                    "Daily maximum",
                    segment_start.astimezone(zone),
                    segment_end.astimezone(zone),
                    1,
                    cap,
                    cap,
                )
            )
            used.add("daily_max")
        lines += segment_lines
        segment_start = segment_end
    if touched_special:
        used.add("special_day")

    # Rule 6: early birds.
    arrive = first.astimezone(zone)
    leave = last.astimezone(zone)
    standard = sum(line.amount for line in lines)
    winner = None
    for bird in board.early_birds:
        qualifies = (
            arrive.date() == leave.date()
            and arrive.weekday() in bird.weekdays
            and bird.enter_from <= arrive.time() < bird.enter_until
            and bird.leave_from <= leave.time() <= bird.leave_until
        )
        if qualifies and cents(bird.price) < standard:
            if winner is None or cents(bird.price) < cents(winner.price):
                winner = bird
    if winner is not None:
        price = cents(winner.price)
        lines = [Line(winner.label, arrive, leave, 1, price, price)]
        used = {"early_bird"}

    # Rule 7: spot kind.
    for adjustment in board.kind_adjustments:
        if kind is None or adjustment.kind != kind:
            continue
        name = adjustment.kind.capitalize()
        if len(adjustment.kind) <= 2:
            name = adjustment.kind.upper()
        if adjustment.per_hour != 0:
            hours = math.ceil((last - first).total_seconds() / 3600)
            if adjustment.per_hour > 0:
                text = f"{name} surcharge {hours} h × {adjustment.per_hour}"
            else:
                text = f"{name} discount {hours} h × {-adjustment.per_hour}"
            amount = cents(adjustment.per_hour * hours)
            lines.append(Line(text, arrive, leave, hours, adjustment.per_hour, amount))
            used.add("kind_adjustment")
        if adjustment.percent != 0:
            amount = cents(sum(line.amount for line in lines) * adjustment.percent / 100)
            shown = abs(adjustment.percent)
            if shown % 1 == 0:
                shown = Decimal(int(shown))
            sign = "+" if adjustment.percent > 0 else "−"
            lines.append(Line(f"{name} {sign}{shown} %", arrive, leave, 1, amount, amount))
            used.add("kind_adjustment")
        break

    # Rule 8: minimum charge (never below zero).
    total = sum(line.amount for line in lines)
    least = board.minimum_charge if board.minimum_charge > 0 else Decimal(0)
    if total < least:
        lift = cents(least - total)
        lines.append(Line("Minimum charge", arrive, leave, 1, lift, lift))
        used.add("minimum_charge")
        total = total + lift
    total = cents(Decimal(total))
    net, vat = split_vat(total, board.vat_percent)
    return Price(
        currency=board.currency,
        lines=tuple(lines),
        total=total,
        net=net,
        vat=vat,
        vat_percent=board.vat_percent,
        rules=tuple(rule for rule in RULES if rule in used),
    )
