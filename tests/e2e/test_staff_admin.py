"""Staff of operator A in a real browser: login, own facilities only, check-in, dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bookings.states import BookingStatus
from tests import factories

pytestmark = pytest.mark.e2e


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", factories.PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("ParkMe staff admin")


def test_staff_of_a_sees_only_a_facilities(page, live_server, world, admin_a):
    log_in(page, live_server, admin_a)

    page.click("tr.model-facility a")

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("A Garage")
    expect(page.locator("#content")).not_to_contain_text("B Garage")


def test_staff_checks_a_booking_in_from_the_changelist(page, live_server, world, admin_a):
    starts_at = timezone.now() + timedelta(minutes=5)
    booking = factories.BookingFactory(
        spot=factories.SpotFactory(zone=world.a.zone, code="GATE-1"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=3),
    )
    log_in(page, live_server, admin_a)

    page.goto(f"{live_server.url}/admin/bookings/booking/?day=today")
    row = page.locator("#result_list tbody tr", has_text=booking.reference)
    row.locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "check_in")
    page.click("button[name=index]")

    expect(page.locator("ul.messagelist")).to_contain_text(f"Checked in: {booking.reference}.")
    expect(row).to_contain_text("Active (checked in)")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.events.get().actor == admin_a


def test_staff_opens_the_dashboard_with_its_chart(page, live_server, world, admin_a):
    now = timezone.now()
    for n in range(12):  # a day that fills up towards the evening
        starts_at = now + timedelta(hours=n % 6) - timedelta(minutes=30)
        factories.BookingFactory(
            spot=factories.SpotFactory(zone=world.a.zone, code=f"DASH-{n:02d}"),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=4 + n % 5),
            status=BookingStatus.ACTIVE if starts_at <= now else BookingStatus.CONFIRMED,
        )
    factories.SpotFactory(zone=world.a.zone, code="DASH-MAINT", status="maintenance")
    log_in(page, live_server, admin_a)

    page.goto(f"{live_server.url}/admin/facilities/facility/{world.a.facility.pk}/change/")
    page.click("text=Occupancy dashboard")

    expect(page.locator("h1")).to_contain_text("A Garage: occupancy")
    chart = page.locator("svg.pm-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(24)
    expect(page.locator("#pm-zones")).to_contain_text("Zone-A")
    expect(page.locator("#pm-arrivals")).to_contain_text("Arrivals today")
    assert chart.bounding_box()["width"] > 600
