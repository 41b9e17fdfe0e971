"""The demo shows the product: after `seed_demo`, Demo Central's admin opens Kamppi Center's
dashboard in a real browser and sees the day's traffic (a non-empty forecast chart and
arrivals), then the bookings list, a rate board preview and the API docs. Each page is
saved to tests/e2e/artifacts/demo-*.png, and the dashboard also to docs/dashboard.png (the
README's screenshot, refreshed by this test)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from bookings.demo import DEMO_PASSWORD
from facilities.models import Facility
from facilities.selectors import rate_version_in_force
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

README_SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "dashboard.png"


def _shot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"demo-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def test_the_demo_dashboard_bookings_rates_and_api_docs(page, live_server):
    call_command("seed_demo")
    kamppi = Facility.objects.get(slug="kamppi-center")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin@central.demo")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("ParkMe staff admin")

    # The dashboard: today's arrivals and the next 24 hours' bookings against capacity.
    page.goto(f"{live_server.url}/admin/facilities/facility/{kamppi.pk}/dashboard/")
    expect(page.locator("#pm-forecast svg")).to_be_visible()
    heights = page.eval_on_selector_all(
        "#pm-forecast rect.bar", "bars => bars.map(b => b.getBoundingClientRect().height)"
    )
    assert len(heights) == 24
    assert sum(h > 0 for h in heights) >= 6, heights
    arrivals = page.locator("#pm-arrivals tbody tr")
    expect(arrivals.first).to_be_visible()
    expect(page.locator("#pm-arrivals")).not_to_contain_text("No arrivals today")
    assert arrivals.count() >= 2
    occupied_now = page.locator("#pm-zones tfoot th.num").first.inner_text()
    assert int(occupied_now) >= 3
    _shot(page, "dashboard")
    # The README's screenshot: without the admin's navigation sidebar, down to the chart
    # and the first arrivals.
    page.click("#toggle-nav-sidebar")
    expect(page.locator("#nav-sidebar")).to_be_hidden()
    chart = page.locator("#pm-forecast").bounding_box()
    page.screenshot(
        path=str(README_SCREENSHOT),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": chart["y"] + chart["height"] + 340},
    )

    # The bookings list: the demo drivers' bookings, newest first.
    page.goto(f"{live_server.url}/admin/bookings/booking/")
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 15
    expect(page.locator("#result_list")).to_contain_text("Kamppi Center")
    _shot(page, "bookings")

    # A rate board preview: tomorrow's working day on the board in force (the early bird
    # or the daily maximum beats the hourly bands).
    tomorrow = (timezone.now().astimezone(kamppi.tz) + timedelta(days=1)).date()
    version = rate_version_in_force(facility_id=kamppi.pk, at=timezone.now())
    page.goto(f"{live_server.url}/admin/facilities/rateversion/{version.pk}/preview/")
    page.fill("#id_starts", f"{tomorrow}T08:00")
    page.fill("#id_ends", f"{tomorrow}T17:30")
    page.click("input[type=submit]")
    expect(page.locator("#price-total")).to_be_visible()
    expect(page.locator("#price-preview tbody tr").first).to_be_visible()
    _shot(page, "rate-board-preview")

    # The API docs, served by the app itself.
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ParkMe")
    expect(page.locator(".opblock").first).to_be_visible()
    _shot(page, "api-docs")

    assert README_SCREENSHOT.stat().st_size > 20_000
