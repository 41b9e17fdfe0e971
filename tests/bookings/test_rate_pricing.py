"""Bookings priced by rate versions: lines, VAT, quote tokens, extensions, overstays,
cancellation policies, versions taking over, and plans migrated without a price change."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bookings import services
from bookings.states import BookingStatus
from facilities.boards import board_of
from facilities.models import RatePlan, RateVersion
from facilities.quotes import QuotedPrice, quote_token_issue
from facilities.rating import price_window
from facilities.services import all_week, rate_version_create
from facilities.windows import Window
from parkme.errors import NoRateInForce, QuoteExpired, ValidationFailed
from tests import factories
from tests.facilities.legacy_pricing import window_price

pytestmark = pytest.mark.django_db
HELSINKI = ZoneInfo("Europe/Helsinki")


def _tomorrow(hour: int) -> datetime:
    day = (timezone.now() + timedelta(days=1)).astimezone(HELSINKI).date()
    return datetime.combine(day, time(hour), HELSINKI)


@pytest.fixture
def garage():
    facility = factories.FacilityFactory()
    factories.SpotFactory.create_batch(3, zone__facility=facility)
    return facility


def _board(facility, *, rate="4.00", since=None, until=None, **fields) -> RateVersion:
    return rate_version_create(
        facility=facility,
        valid_from=since or datetime(2000, 1, 1, tzinfo=UTC),
        valid_to=until,
        bands=all_week(Decimal(rate)),
        vat_percent=Decimal("25.50"),
        **fields,
    )


def _book(garage, car, starts, hours=2, **more):
    request = services.BookingRequest(
        facility_id=garage.pk,
        vehicle_id=car.pk,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        **more,
    )
    return services.booking_create(driver=car.owner, request=request)[0]


def test_a_booking_keeps_its_lines_vat_and_version(garage):
    version = _board(garage)
    booking = _book(garage, factories.VehicleFactory(), _tomorrow(9))
    assert booking.rate_version == version
    assert booking.price == Decimal("8.00")
    assert sum(Decimal(line["amount"]) for line in booking.price_lines) == booking.price
    assert booking.price_vat == Decimal("1.63")  # 8.00 − 8.00 / 1.255, to the cent
    assert booking.price_lines[0]["starts_at"].endswith(("+02:00", "+03:00"))


def test_no_version_in_force_is_a_clear_409(garage):
    _board(garage, until=datetime(2001, 1, 1, tzinfo=UTC))
    with pytest.raises(NoRateInForce):
        _book(garage, factories.VehicleFactory(), _tomorrow(9))


def test_a_version_scheduled_for_later_prices_the_windows_that_start_after_it(garage):
    switch = _tomorrow(12)
    _board(garage, rate="4.00", until=switch)
    _board(garage, rate="5.00", since=switch)
    before = _book(garage, factories.VehicleFactory(), _tomorrow(9))
    after = _book(garage, factories.VehicleFactory(), _tomorrow(13))
    assert (before.price, after.price) == (Decimal("8.00"), Decimal("10.00"))


def test_a_quote_token_keeps_the_quoted_total_after_the_board_changes(garage):
    version = _board(garage, rate="4.00")
    starts = _tomorrow(9)
    window = Window(starts, starts + timedelta(hours=2))
    quoted = QuotedPrice(garage.pk, window, "standard", version.pk, "EUR", Decimal("8.00"))
    token, _ = quote_token_issue(quoted, now=timezone.now())
    version.bands.update(unit_price=Decimal("9.00"))  # the board changes meanwhile

    booking = _book(garage, factories.VehicleFactory(), starts, quote_token=token)

    assert booking.price == Decimal("8.00")
    assert sum(Decimal(line["amount"]) for line in booking.price_lines) == Decimal("8.00")


def test_a_quote_token_for_another_window_or_kind_is_refused_and_an_old_one_expired(garage):
    version = _board(garage)
    starts = _tomorrow(9)
    window = Window(starts, starts + timedelta(hours=2))
    token, _ = quote_token_issue(
        QuotedPrice(garage.pk, window, "standard", version.pk, "EUR", Decimal("1.00")),
        now=timezone.now(),
    )
    car = factories.VehicleFactory()
    with pytest.raises(ValidationFailed) as other_window:
        _book(garage, car, starts, hours=3, quote_token=token)
    assert "quote_token" in other_window.value.fields
    with pytest.raises(ValidationFailed):
        _book(garage, car, starts, quote_token=token, spot_kind="compact")
    with pytest.raises(ValidationFailed):
        _book(garage, car, starts, quote_token=token + "x")


def test_an_expired_quote_token_is_409(garage, settings):
    version = _board(garage)
    starts = _tomorrow(9)
    window = Window(starts, starts + timedelta(hours=2))
    token, _ = quote_token_issue(
        QuotedPrice(garage.pk, window, "standard", version.pk, "EUR", Decimal("1.00")),
        now=timezone.now(),
    )
    settings.QUOTE_TOKEN_MINUTES = -1  # every token issued is already past its time
    with pytest.raises(QuoteExpired):
        _book(garage, factories.VehicleFactory(), starts, quote_token=token)


def test_extension_and_overstay_are_priced_by_the_bookings_board(garage):
    _board(garage, rate="4.00", daily_max=Decimal("30.00"))
    booking = _book(garage, factories.VehicleFactory(), _tomorrow(9))
    extended = services.booking_extend(
        booking=booking, actor=booking.driver, ends_at=booking.ends_at + timedelta(hours=1)
    )
    assert extended.price == Decimal("12.00")
    assert len(extended.price_lines) == 1
    services.booking_check_in(booking=extended, actor=extended.driver, now=extended.starts_at)
    done = services.booking_check_out(
        booking=extended, actor=extended.driver, now=extended.ends_at + timedelta(minutes=70)
    )
    assert done.overstay_fee == Decimal("8.00")  # 70 min past the end: two started hours


@pytest.mark.parametrize(
    ("policy", "hours_before", "fee"),
    [
        ({"cancel_free_hours": 24}, 48, "0.00"),
        ({"cancel_free_hours": 24, "cancel_fee_percent": Decimal("50")}, 48, "0.00"),
        ({"cancel_free_hours": 24, "cancel_fee_percent": Decimal("50")}, 2, "4.00"),
        ({"cancel_free_hours": 24, "cancel_fee_fixed": Decimal("2.50")}, 2, "2.50"),
        ({"cancel_free_hours": 0, "cancel_fee_fixed": Decimal("99.00")}, 2, "0.00"),
        ({"cancel_free_hours": 0, "cancel_fee_fixed": Decimal("99.00")}, -1, "8.00"),
    ],
)
def test_cancelling_follows_the_versions_policy(garage, policy, hours_before, fee):
    _board(garage, **policy)
    booking = _book(garage, factories.VehicleFactory(), _tomorrow(9))
    now = booking.starts_at - timedelta(hours=hours_before)
    cancelled = services.booking_cancel(booking=booking, actor=booking.driver, now=now)
    assert cancelled.status == BookingStatus.CANCELLED
    assert cancelled.cancellation_fee == Decimal(fee)  # never more than the price
    assert cancelled.price == Decimal("8.00")


# --- old rate plans become versions that price exactly as before ---------------------------

_migration = importlib.import_module("facilities.migrations.0005_rate_versions_from_plans")


def test_every_migrated_plan_prices_a_grid_of_windows_exactly_as_before():
    plans = []
    for rate, cap, zone in (
        ("3.00", "20.00", "Europe/Helsinki"),
        ("2.75", "11.00", "America/New_York"),
        ("0.00", "0.00", "Europe/Helsinki"),
    ):
        facility = factories.FacilityFactory(timezone=zone)
        plans.append(
            RatePlan.objects.create(
                facility=facility, hourly_rate=Decimal(rate), daily_max=Decimal(cap)
            )
        )
    # Run it as `migrate` does: on the historical models of that migration (no signals).
    state = MigrationExecutor(connection).loader.project_state(
        ("facilities", "0005_rate_versions_from_plans")
    )
    _migration.plans_to_versions(state.apps, None)

    # Windows from a few minutes to three days, starting on ordinary days and on both
    # daylight-saving nights of 2026 in each zone.
    starts = [
        datetime(2026, 6, 10, 9, 10, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # Helsinki springs forward at 01:00 UTC
        datetime(2026, 10, 25, 0, 15, tzinfo=UTC),  # Helsinki falls back at 01:00 UTC
        datetime(2026, 3, 8, 6, 45, tzinfo=UTC),  # New York springs forward at 07:00 UTC
        datetime(2026, 11, 1, 5, 5, tzinfo=UTC),  # New York falls back at 06:00 UTC
    ]
    lengths = [timedelta(minutes=m) for m in (15, 59, 61, 179, 24 * 60 - 1, 25 * 60, 72 * 60)]
    for plan in plans:
        version = RateVersion.objects.get(facility=plan.facility)
        board = board_of(version)
        for start in starts:
            for length in lengths:
                old = window_price(
                    rates=plan,
                    starts_at=start,
                    ends_at=start + length,
                    timezone_name=plan.facility.timezone,
                )
                new = price_window(board, starts_at=start, ends_at=start + length).total
                assert new == old, (plan.facility.timezone, start, length)
    # Cancelling keeps the old rule: free before the start, the whole price after it.
    assert {v.cancel_fee_percent for v in RateVersion.objects.all()} == {Decimal("100")}


def test_a_board_with_a_gap_or_an_overlap_is_refused_naming_the_problem(garage):
    gap = [b for b in all_week(Decimal("3.00")) if b["weekday"] != 2]
    with pytest.raises(ValidationFailed) as no_wednesday:
        rate_version_create(facility=garage, valid_from=datetime(2030, 1, 1, tzinfo=UTC), bands=gap)
    overlap = [*all_week(Decimal("3.00")), {**all_week(Decimal("1.00"))[0], "starts": time(8)}]
    with pytest.raises(ValidationFailed) as monday_twice:
        rate_version_create(
            facility=garage, valid_from=datetime(2030, 1, 1, tzinfo=UTC), bands=overlap
        )
    assert no_wednesday.value.fields["bands"] == [
        "Wed has no band: a board must price every minute of the week."
    ]
    assert monday_twice.value.fields["bands"] == ["Bands overlap on Mon from 08:00 to 24:00."]
    assert not RateVersion.objects.filter(facility=garage).exists()
