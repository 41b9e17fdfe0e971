"""An operator admin schedules new prices in a real browser: end the board in force, copy
it as a new version with dearer bands, preview it, and the API quotes the new price."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from facilities.models import RateVersion
from tests.e2e.test_staff_admin import log_in

pytestmark = pytest.mark.e2e


def _local(moment: datetime) -> tuple[str, str]:
    return moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")


def test_admin_schedules_a_new_board_previews_it_and_the_api_quotes_it(
    page, live_server, world, admin_a
):
    facility = world.a.facility
    tz = facility.tz
    tomorrow = (timezone.now().astimezone(tz) + timedelta(days=1)).date()
    switch = datetime.combine(tomorrow, time(0), tz)
    version = world.a.rate_version
    log_in(page, live_server, admin_a)

    # 1. The board in force ends at midnight tonight.
    change = f"{live_server.url}/admin/facilities/rateversion/{version.pk}/change/"
    page.goto(change)
    day, clock = _local(switch)
    page.fill("#id_valid_to_0", day)
    page.fill("#id_valid_to_1", clock)
    page.click("input[name=_continue]")
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")

    # 2. Copied as a new version from midnight, every hour at 5.00 instead of 3.00.
    page.fill("#id_label", "Dearer from tomorrow")
    page.fill("#id_valid_from_0", day)
    page.fill("#id_valid_from_1", clock)
    page.fill("#id_valid_to_0", "")
    page.fill("#id_valid_to_1", "")
    for n in range(7):
        page.fill(f"#id_bands-{n}-unit_price", "5.00")
    page.click("input[name=_saveasnew]")
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    new = RateVersion.objects.get(label="Dearer from tomorrow")
    assert new.bands.count() == 7

    # 3. The preview of the new board: two hours tomorrow morning cost 10.00.
    page.click("text=Price preview")
    page.fill("#id_starts", f"{tomorrow}T09:00")
    page.fill("#id_ends", f"{tomorrow}T11:00")
    page.click("input[type=submit]")
    expect(page.locator("#price-total")).to_have_text("10.00")

    # 4. The API quotes the new price for tomorrow (and the old one for today's board).
    starts = datetime.combine(tomorrow, time(9), tz)
    query = (
        f"starts_at={urllib.parse.quote(starts.isoformat())}"
        f"&ends_at={urllib.parse.quote((starts + timedelta(hours=2)).isoformat())}"
    )
    url = f"{live_server.url}/api/v1/facilities/{facility.pk}/quote/?{query}"
    with urllib.request.urlopen(url) as answer:  # noqa: S310 - the test's own live server
        quote = json.load(answer)
    assert quote["price"] == "10.00"
