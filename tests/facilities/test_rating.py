"""Worked examples of the rate-board engine (facilities.rating), each checkable by hand.

Every example is priced by both implementations (the fast one and the minute-by-minute
reference); they must agree.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from facilities.rating import (
    Band,
    Board,
    BoardGap,
    EarlyBird,
    KindAdjustment,
    Overnight,
    Price,
    SpecialDay,
    board_from_plan,
    price_window,
    price_window_reference,
    split_vat,
)
from tests.facilities.legacy_pricing import window_price

HEL = ZoneInfo("Europe/Helsinki")
NYC = ZoneInfo("America/New_York")
D = Decimal
# 2026-03-02 is a Monday.
MON = date(2026, 3, 2)


def day_evening_bands(weekdays=range(7)) -> tuple[Band, ...]:
    """Night 00–08 and evening 18–24 at 1.00 per 30 min, day 08–18 at 3.00 per 60 min."""
    bands = []
    for weekday in weekdays:
        bands += [
            Band(weekday, time(0), time(8), 30, D("1.00")),
            Band(weekday, time(8), time(18), 60, D("3.00")),
            Band(weekday, time(18), None, 30, D("1.00")),
        ]
    return tuple(bands)


def board(timezone: str = "Europe/Helsinki", **rules) -> Board:
    rules.setdefault("vat_percent", D("25.5"))
    rules.setdefault("bands", day_evening_bands())
    return Board(timezone=timezone, currency="EUR", **rules)


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = HEL, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz, fold=fold)


def quote(the_board: Board, starts_at: datetime, ends_at: datetime, kind=None) -> Price:
    fast = price_window(the_board, starts_at=starts_at, ends_at=ends_at, kind=kind)
    reference = price_window_reference(the_board, starts_at=starts_at, ends_at=ends_at, kind=kind)
    assert fast == reference
    # Aware datetimes sharing a tzinfo compare by wall clock: compare the instants too.
    assert [
        (line.starts_at.astimezone(UTC), line.ends_at.astimezone(UTC)) for line in fast.lines
    ] == [
        (line.starts_at.astimezone(UTC), line.ends_at.astimezone(UTC)) for line in reference.lines
    ]
    assert sum(line.amount for line in fast.lines) == fast.total
    assert fast.net + fast.vat == fast.total
    return fast


def summary(price: Price) -> list[tuple[str, int, str]]:
    return [(line.label, line.units, str(line.amount)) for line in price.lines]


# --- Bands and stretches ----------------------------------------------------------------


def test_a_window_inside_one_band_pays_each_started_unit():
    price = quote(board(), at(MON, 9), at(MON, 11, 30))
    assert summary(price) == [("Mon 08:00–18:00", 3, "9.00")]
    assert price.total == D("9.00")
    assert price.rules == ("bands",)
    assert price.currency == "EUR"
    assert price.lines[0].starts_at == at(MON, 9)
    assert price.lines[0].ends_at == at(MON, 11, 30)
    assert price.lines[0].unit_price == D("3.00")


def test_a_window_across_a_band_boundary_is_two_stretches():
    # 16:30–18:00 is 1 h 30 min: 2 started hours × 3.00; 18:00–19:10 is 70 min: 3 × 1.00.
    price = quote(board(), at(MON, 16, 30), at(MON, 19, 10))
    assert summary(price) == [("Mon 08:00–18:00", 2, "6.00"), ("Mon 18:00–24:00", 3, "3.00")]
    assert price.total == D("9.00")
    assert price.lines[1].starts_at == at(MON, 18)


def test_the_same_tariff_across_midnight_is_one_stretch():
    # Evening (Mon 18–24) and night (Tue 00–08) share 1.00 per 30 min: 10 h = 20 units.
    price = quote(board(), at(MON, 20), at(MON + timedelta(days=1), 6))
    assert summary(price) == [("Mon 18:00–24:00", 20, "20.00")]
    assert price.lines[0].ends_at == at(MON + timedelta(days=1), 6)


def test_a_band_label_names_its_stretch():
    labelled = tuple(
        replace(band, label="Day") if band.starts == time(8) else band
        for band in day_evening_bands()
    )
    price = quote(board(bands=labelled), at(MON, 7), at(MON, 9))
    assert summary(price) == [("Mon 00:00–08:00", 2, "2.00"), ("Day", 1, "3.00")]


def test_overlapping_bands_the_first_listed_wins():
    overlapping = (Band(0, time(8), time(10), 60, D("5.00")), Band(0, time(0), None, 60, D("1.00")))
    price = quote(board(bands=overlapping), at(MON, 7), at(MON, 11))
    assert summary(price) == [
        ("Mon 00:00–24:00", 1, "1.00"),
        ("Mon 08:00–10:00", 2, "10.00"),
        ("Mon 00:00–24:00", 1, "1.00"),
    ]


def test_started_units_count_real_seconds():
    price = quote(board(), at(MON, 18), at(MON, 18, 31))  # 31 min → 2 started half hours
    assert price.total == D("2.00")


# --- Daylight saving --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "night", "real_hours"),
    [
        # Spring forward: the skipped hour is never charged (8 h on the wall clock, 7 real).
        (HEL, date(2026, 3, 28), 7),
        (NYC, date(2026, 3, 7), 7),
        # Fall back: the repeated hour is (8 h on the wall clock, 9 real).
        (HEL, date(2026, 10, 24), 9),
        (NYC, date(2026, 10, 31), 9),
    ],
)
def test_a_daylight_saving_night_charges_real_time(tz, night, real_hours):
    the_board = board(timezone=tz.key)
    starts_at, ends_at = at(night, 22, tz=tz), at(night + timedelta(days=1), 6, tz=tz)
    assert ends_at.astimezone(UTC) - starts_at.astimezone(UTC) == timedelta(hours=real_hours)
    price = quote(the_board, starts_at, ends_at)
    # One stretch at 1.00 per 30 min.
    assert summary(price) == [("Sat 18:00–24:00", 2 * real_hours, f"{2 * real_hours}.00")]


def test_a_window_across_the_skipped_hour_pays_only_real_time():
    # New York, 2026-03-08: 01:30 EST → 03:30 EDT is one real hour (02:00–03:00 never was).
    price = quote(
        board(timezone="America/New_York"),
        at(date(2026, 3, 8), 1, 30, NYC),
        at(date(2026, 3, 8), 3, 30, NYC),
    )
    assert summary(price) == [("Sun 00:00–08:00", 2, "2.00")]


def test_a_band_boundary_inside_the_repeated_hour_is_crossed_twice():
    # New York, 2026-11-01: the wall clock runs 00:30 → 01:59 EDT, then 01:00 → 02:30 EST.
    bands = []
    for weekday in range(7):
        bands += [
            Band(weekday, time(0), time(1, 30), 60, D("1.00"), label="Early"),
            Band(weekday, time(1, 30), None, 60, D("2.00"), label="Late"),
        ]
    the_board = board(timezone="America/New_York", bands=tuple(bands))
    day = date(2026, 11, 1)
    price = quote(the_board, at(day, 0, 30, NYC), at(day, 2, 30, NYC))
    assert summary(price) == [
        ("Early", 1, "1.00"),  # 00:30–01:30 EDT
        ("Late", 1, "2.00"),  # 01:30–02:00 EDT (= 01:00 EST)
        ("Early", 1, "1.00"),  # 01:00–01:30 EST
        ("Late", 1, "2.00"),  # 01:30–02:30 EST
    ]
    second_early = price.lines[2]
    assert second_early.starts_at.astimezone(UTC) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert second_early.starts_at.fold == 1


def test_a_window_whose_end_reads_earlier_than_its_start_is_priced_by_real_time():
    # Helsinki 2026-10-25: 03:59 EEST → 03:00 EET (fold=1) is one real minute.
    day = date(2026, 10, 25)
    starts_at, ends_at = at(day, 3, 59), at(day, 3, 0, fold=1)
    assert ends_at.astimezone(UTC) - starts_at.astimezone(UTC) == timedelta(minutes=1)
    price = quote(board(), starts_at, ends_at)
    assert summary(price) == [("Sun 00:00–08:00", 1, "1.00")]


def test_a_daylight_saving_day_is_still_one_day_under_the_daily_maximum():
    # Helsinki 2026-03-29 has 23 hours: Sat 12:00 → Sun 12:00 is one day segment.
    price = quote(board(daily_max=D("20.00")), at(date(2026, 3, 28), 12), at(date(2026, 3, 29), 12))
    assert price.total == D("20.00")
    assert price.lines[-1].label == "Daily maximum"


# --- Caps -------------------------------------------------------------------------------


def test_daily_maximum_caps_each_day_of_a_three_day_window():
    # Each day Mon 09:00 → Tue 09:00: day 09–18 = 27.00, 18–08 = 28 × 1.00, 08–09 = 3.00,
    # 58.00 capped at 20.00 by a line of −38.00.
    price = quote(board(daily_max=D("20.00")), at(MON, 9), at(MON + timedelta(days=3), 9))
    assert price.total == D("60.00")
    assert summary(price) == [
        ("Mon 08:00–18:00", 9, "27.00"),  # Mon 09–18
        ("Mon 18:00–24:00", 28, "28.00"),  # Mon 18 → Tue 08
        ("Tue 08:00–18:00", 1, "3.00"),  # Tue 08–09
        ("Daily maximum", 1, "-38.00"),
        ("Tue 08:00–18:00", 9, "27.00"),
        ("Tue 18:00–24:00", 28, "28.00"),
        ("Wed 08:00–18:00", 1, "3.00"),
        ("Daily maximum", 1, "-38.00"),
        ("Wed 08:00–18:00", 9, "27.00"),
        ("Wed 18:00–24:00", 28, "28.00"),
        ("Thu 08:00–18:00", 1, "3.00"),
        ("Daily maximum", 1, "-38.00"),
    ]
    cap = price.lines[3]
    assert (cap.starts_at, cap.ends_at) == (at(MON, 9), at(MON + timedelta(days=1), 9))
    assert price.rules == ("bands", "daily_max")


def test_a_day_under_the_daily_maximum_is_not_capped():
    price = quote(board(daily_max=D("20.00")), at(MON, 9), at(MON, 13))
    assert price.total == D("12.00")
    assert price.rules == ("bands",)


def test_overnight_maximum_caps_the_night():
    # 17–18 day 3.00; 18:00 → 08:00 is 28 × 1.00 capped at 8.00; 08:00–09:30 is 2 × 3.00.
    overnight = Overnight(starts=time(18), ends=time(8), maximum=D("8.00"))
    price = quote(board(overnight=overnight), at(MON, 17), at(MON + timedelta(days=1), 9, 30))
    assert summary(price) == [
        ("Mon 08:00–18:00", 1, "3.00"),
        ("Mon 18:00–24:00", 28, "28.00"),
        ("Overnight maximum", 1, "-20.00"),
        ("Tue 08:00–18:00", 2, "6.00"),
    ]
    assert price.total == D("17.00")
    assert price.rules == ("bands", "overnight_max")


def test_overnight_maximum_cuts_a_stretch_where_the_night_begins():
    # 1.00 per 30 min all day; the night starts at 20:00: 18–20 is 4.00, 20–23 is 6 → 5.00.
    flat_rate = tuple(Band(weekday, time(0), None, 30, D("1.00")) for weekday in range(7))
    overnight = Overnight(starts=time(20), ends=time(6), maximum=D("5.00"))
    price = quote(board(bands=flat_rate, overnight=overnight), at(MON, 18), at(MON, 23))
    assert summary(price) == [
        ("Mon 00:00–24:00", 4, "4.00"),
        ("Mon 00:00–24:00", 6, "6.00"),
        ("Overnight maximum", 1, "-1.00"),
    ]


def test_a_night_across_a_day_segment_boundary_is_capped_on_each_side():
    # Mon 20:00 → Wed 07:00; segments Mon 20:00 → Tue 20:00 → Wed 07:00. Caps, like the
    # daily maximum, work per day segment: Tuesday's night is 18–20 (4.00, under the cap)
    # in segment 1 and 20:00 → 07:00 (22.00 → 8.00) in segment 2.
    overnight = Overnight(starts=time(18), ends=time(8), maximum=D("8.00"))
    price = quote(board(overnight=overnight), at(MON, 20), at(MON + timedelta(days=2), 7))
    assert summary(price) == [
        ("Mon 18:00–24:00", 24, "24.00"),
        ("Overnight maximum", 1, "-16.00"),
        ("Tue 08:00–18:00", 10, "30.00"),
        ("Tue 18:00–24:00", 4, "4.00"),
        ("Tue 18:00–24:00", 22, "22.00"),
        ("Overnight maximum", 1, "-14.00"),
    ]
    assert price.total == D("50.00")


def test_overnight_then_daily_maximum():
    overnight = Overnight(starts=time(18), ends=time(8), maximum=D("8.00"))
    the_board = board(overnight=overnight, daily_max=D("15.00"))
    # Mon 09:00 → Tue 09:00: 27.00 + (28.00 − 20.00) + 3.00 = 38.00 → capped at 15.00.
    price = quote(the_board, at(MON, 9), at(MON + timedelta(days=1), 9))
    assert price.total == D("15.00")
    assert [line.amount for line in price.lines] == [
        D("27.00"),
        D("28.00"),
        D("-20.00"),
        D("3.00"),
        D("-23.00"),
    ]
    assert price.rules == ("bands", "overnight_max", "daily_max")


# --- Early birds ------------------------------------------------------------------------

BIRD = EarlyBird(
    enter_from=time(6),
    enter_until=time(9),
    leave_from=time(15),
    leave_until=time(19),
    price=D("12.00"),
    weekdays=frozenset(range(5)),
)


def test_early_bird_wins_when_cheaper():
    # Standard: 07:30–08:00 1.00 + 08:00–17:45 10 started hours × 3.00 = 31.00.
    price = quote(board(early_birds=(BIRD,)), at(MON, 7, 30), at(MON, 17, 45))
    assert summary(price) == [("Early bird", 1, "12.00")]
    assert price.total == D("12.00")
    assert price.rules == ("early_bird",)
    assert (price.lines[0].starts_at, price.lines[0].ends_at) == (at(MON, 7, 30), at(MON, 17, 45))


def test_early_bird_loses_to_a_cheaper_standard_price():
    # The daily maximum makes the standard price 10.00 < 12.00.
    price = quote(board(early_birds=(BIRD,), daily_max=D("10.00")), at(MON, 7, 30), at(MON, 17, 45))
    assert price.total == D("10.00")
    assert "early_bird" not in price.rules


def test_early_bird_tie_goes_to_the_standard_price():
    price = quote(board(early_birds=(BIRD,), daily_max=D("12.00")), at(MON, 7, 30), at(MON, 17, 45))
    assert price.total == D("12.00")
    assert price.rules == ("bands", "daily_max")


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        (at(MON, 9), at(MON, 17)),  # entered at enter_until (exclusive)
        (at(MON, 7), at(MON, 19, 1)),  # left after leave_until
        (at(MON, 7), at(MON, 14, 59)),  # left before leave_from
        (at(MON - timedelta(days=2), 7), at(MON - timedelta(days=2), 17)),  # a Saturday
        (at(MON, 7), at(MON + timedelta(days=1), 17)),  # left on another date
    ],
)
def test_early_bird_does_not_apply_outside_its_periods(starts_at, ends_at):
    price = quote(board(early_birds=(BIRD,)), starts_at, ends_at)
    assert "early_bird" not in price.rules


def test_early_bird_exit_period_includes_its_end():
    price = quote(board(early_birds=(BIRD,)), at(MON, 6), at(MON, 19))
    assert price.rules == ("early_bird",)


def test_the_cheapest_early_bird_wins():
    cheaper = replace(BIRD, price=D("9.00"), label="Super early")
    price = quote(board(early_birds=(BIRD, cheaper)), at(MON, 7), at(MON, 16))
    assert summary(price) == [("Super early", 1, "9.00")]


# --- Special days -----------------------------------------------------------------------

CHRISTMAS = SpecialDay(
    first=date(2026, 12, 24), last=date(2026, 12, 26), label="Christmas", flat_price=D("5.00")
)
MIDSUMMER = SpecialDay(
    first=date(2026, 6, 19),
    last=date(2026, 6, 19),
    label="Midsummer",
    bands=(Band(0, time(0), None, 60, D("2.00")),),
)


def test_a_flat_special_day_costs_its_price_once():
    price = quote(
        board(special_days=(CHRISTMAS,)), at(date(2026, 12, 24), 10), at(date(2026, 12, 24), 20)
    )
    assert summary(price) == [("Christmas", 1, "5.00")]
    assert price.rules == ("special_day",)


def test_a_flat_special_day_is_charged_once_per_date_across_day_segments():
    # Wed 17:00 → Fri 10:00. Segment 1 (Wed 17:00 → Thu 17:00): day 17–18 3.00, evening
    # 18–24 12 × 1.00, Dec 24 flat 5.00 (the whole date, though it runs into segment 2).
    # Segment 2 (Thu 17:00 → Fri 10:00): Dec 25 flat 5.00.
    price = quote(
        board(special_days=(CHRISTMAS,)), at(date(2026, 12, 23), 17), at(date(2026, 12, 25), 10)
    )
    assert summary(price) == [
        ("Wed 08:00–18:00", 1, "3.00"),
        ("Wed 18:00–24:00", 12, "12.00"),
        ("Christmas", 1, "5.00"),
        ("Christmas", 1, "5.00"),
    ]
    assert (price.lines[2].starts_at, price.lines[2].ends_at) == (
        at(date(2026, 12, 24), 0),
        at(date(2026, 12, 25), 0),
    )
    assert price.total == D("25.00")
    assert price.rules == ("bands", "special_day")


def test_a_special_day_with_bands_replaces_the_weekday():
    # Friday 10:00–13:30: 4 started hours at the special 2.00 instead of 3.00.
    price = quote(
        board(special_days=(MIDSUMMER,)), at(date(2026, 6, 19), 10), at(date(2026, 6, 19), 13, 30)
    )
    assert summary(price) == [("Midsummer 00:00–24:00", 4, "8.00")]
    assert price.rules == ("bands", "special_day")


def test_a_flat_special_day_counts_toward_the_daily_maximum():
    # Wed 20:00 → Thu 20:00: evening 8 × 1.00, then Dec 24 flat 5.00: 13.00 → capped 10.00.
    the_board = board(special_days=(CHRISTMAS,), daily_max=D("10.00"))
    price = quote(the_board, at(date(2026, 12, 23), 20), at(date(2026, 12, 24), 20))
    assert [line.amount for line in price.lines] == [D("8.00"), D("5.00"), D("-3.00")]


# --- Spot kinds, minimum charge ---------------------------------------------------------

KINDS = (
    KindAdjustment(kind="ev", per_hour=D("1.00")),
    KindAdjustment(kind="motorcycle", percent=D("-50")),
)


def test_ev_pays_a_surcharge_per_started_hour():
    price = quote(board(kind_adjustments=KINDS), at(MON, 9), at(MON, 11, 30), kind="ev")
    assert summary(price) == [
        ("Mon 08:00–18:00", 3, "9.00"),
        ("EV surcharge 3 h × 1.00", 3, "3.00"),
    ]
    assert price.total == D("12.00")
    assert price.rules == ("bands", "kind_adjustment")


def test_motorcycle_pays_half():
    price = quote(board(kind_adjustments=KINDS), at(MON, 9), at(MON, 11, 30), kind="motorcycle")
    assert summary(price) == [("Mon 08:00–18:00", 3, "9.00"), ("Motorcycle −50 %", 1, "-4.50")]
    assert price.total == D("4.50")


def test_a_kind_without_adjustment_pays_the_standard_price():
    for kind in (None, "standard"):
        price = quote(board(kind_adjustments=KINDS), at(MON, 9), at(MON, 11, 30), kind=kind)
        assert price.total == D("9.00")


def test_percent_applies_after_the_per_hour_part_and_rounds_half_up():
    both = (KindAdjustment(kind="ev", per_hour=D("0.25"), percent=D("-50")),)
    # 9.00 + 3 × 0.25 = 9.75; −50 % = −4.875 → −4.88 (half-up, away from zero).
    price = quote(board(kind_adjustments=both), at(MON, 9), at(MON, 11, 30), kind="ev")
    assert [line.amount for line in price.lines] == [D("9.00"), D("0.75"), D("-4.88")]
    assert price.total == D("4.87")


def test_early_bird_then_kind_adjustment():
    price = quote(
        board(early_birds=(BIRD,), kind_adjustments=KINDS), at(MON, 7), at(MON, 16), kind="ev"
    )
    assert summary(price) == [("Early bird", 1, "12.00"), ("EV surcharge 9 h × 1.00", 9, "9.00")]
    assert price.rules == ("early_bird", "kind_adjustment")


def test_minimum_charge_lifts_a_short_stay():
    price = quote(board(minimum_charge=D("5.00")), at(MON, 20), at(MON, 20, 10))
    assert summary(price) == [("Mon 18:00–24:00", 1, "1.00"), ("Minimum charge", 1, "4.00")]
    assert price.total == D("5.00")
    assert price.rules == ("bands", "minimum_charge")


def test_minimum_charge_does_nothing_above_it():
    price = quote(board(minimum_charge=D("5.00")), at(MON, 9), at(MON, 11))
    assert price.total == D("6.00")
    assert "minimum_charge" not in price.rules


def test_a_price_is_never_negative():
    discount = (KindAdjustment(kind="ev", per_hour=D("-5.00")),)
    price = quote(board(kind_adjustments=discount), at(MON, 20), at(MON, 22), kind="ev")
    assert summary(price) == [
        ("Mon 18:00–24:00", 4, "4.00"),
        ("EV discount 2 h × 5.00", 2, "-10.00"),
        ("Minimum charge", 1, "6.00"),
    ]
    assert price.total == D("0.00")


# --- VAT --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "vat_percent", "net", "vat"),
    [
        ("10.00", "25.5", "7.97", "2.03"),  # 10 / 1.255 = 7.968…
        ("12.55", "25.5", "10.00", "2.55"),
        ("10.00", "24", "8.06", "1.94"),  # 10 / 1.24 = 8.064…
        ("0.01", "24", "0.01", "0.00"),
        ("10.00", "0", "10.00", "0.00"),
        ("0.00", "25.5", "0.00", "0.00"),
    ],
)
def test_split_vat(total, vat_percent, net, vat):
    assert split_vat(D(total), D(vat_percent)) == (D(net), D(vat))


def test_a_price_carries_its_vat_split():
    price = quote(board(vat_percent=D("25.5")), at(MON, 9), at(MON, 11, 30))
    assert (price.total, price.net, price.vat, price.vat_percent) == (
        D("9.00"),
        D("7.17"),
        D("1.83"),
        D("25.5"),
    )


# --- Boards the engine refuses, windows it refuses --------------------------------------


def test_a_minute_without_band_raises_board_gap():
    weekdays_only = board(bands=day_evening_bands(range(5)))
    sunday = MON - timedelta(days=1)
    with pytest.raises(BoardGap):
        price_window(weekdays_only, starts_at=at(sunday, 10), ends_at=at(sunday, 11))
    with pytest.raises(BoardGap):
        price_window_reference(weekdays_only, starts_at=at(sunday, 10), ends_at=at(sunday, 11))
    # A window that stays off the gap is priced.
    assert price_window(weekdays_only, starts_at=at(MON, 10), ends_at=at(MON, 11)).total == D(
        "3.00"
    )


def test_a_gap_inside_a_day_raises_board_gap():
    gappy = board(bands=tuple(b for b in day_evening_bands() if b.starts != time(8)))
    with pytest.raises(BoardGap):
        price_window(gappy, starts_at=at(MON, 7), ends_at=at(MON, 9))


@pytest.mark.parametrize("engine", [price_window, price_window_reference])
def test_naive_datetimes_are_refused(engine):
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="naive|aware"):
        engine(board(), starts_at=naive, ends_at=naive + timedelta(hours=1))
    with pytest.raises(ValueError, match="naive|aware"):
        engine(board(), starts_at=at(MON, 9), ends_at=naive + timedelta(hours=1))


@pytest.mark.parametrize("engine", [price_window, price_window_reference])
def test_an_empty_or_reversed_window_is_refused(engine):
    with pytest.raises(ValueError, match="empty|after"):
        engine(board(), starts_at=at(MON, 9), ends_at=at(MON, 9))
    with pytest.raises(ValueError, match="empty|after"):
        engine(board(), starts_at=at(MON, 10), ends_at=at(MON, 9))


def test_windows_in_another_zone_are_priced_on_the_boards_wall_clock():
    # 07:00–09:30 UTC is 09:00–11:30 in Helsinki (EET, +2).
    price = quote(
        board(), datetime(2026, 3, 2, 7, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    )
    assert summary(price) == [("Mon 08:00–18:00", 3, "9.00")]
    assert price.lines[0].starts_at.tzinfo == HEL


# --- The old engine ---------------------------------------------------------------------


class Plan:
    hourly_rate = D("2.50")
    daily_max = D("15.00")


@pytest.mark.parametrize(
    ("tz", "starts_at", "ends_at", "expected"),
    [
        ("Europe/Helsinki", at(MON, 9), at(MON, 11, 1), "7.50"),
        ("Europe/Helsinki", at(MON, 9), at(MON + timedelta(days=3), 11), "50.00"),
        ("Europe/Helsinki", at(date(2026, 3, 28), 20), at(date(2026, 3, 29), 5), "15.00"),
        (
            "America/New_York",
            at(date(2026, 3, 8), 1, tz=NYC),
            at(date(2026, 3, 8), 4, tz=NYC),
            "5.00",
        ),
        (
            "America/New_York",
            at(date(2026, 11, 1), 0, tz=NYC),
            at(date(2026, 11, 1), 3, tz=NYC),
            "10.00",
        ),
    ],
)
def test_a_board_from_an_old_plan_prices_like_the_old_engine(tz, starts_at, ends_at, expected):
    the_board = board_from_plan(
        hourly_rate=Plan.hourly_rate, daily_max=Plan.daily_max, timezone=tz, currency="EUR"
    )
    assert len(the_board.bands) == 7
    assert the_board.vat_percent == 0
    price = quote(the_board, starts_at, ends_at)
    assert price.total == D(expected)
    assert price.total == window_price(
        rates=Plan, starts_at=starts_at, ends_at=ends_at, timezone_name=tz
    )
    assert price.vat == 0
