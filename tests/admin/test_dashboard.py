"""The occupancy dashboard of a facility, in the facility's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from bookings.dashboard import hourly_forecast
from bookings.states import BookingStatus
from facilities.models import SpotStatus
from tests import factories

HELSINKI = ZoneInfo("Europe/Helsinki")


def dashboard(client, facility):
    response = client.get(reverse("admin:facilities_facility_dashboard", args=[facility.pk]))
    assert response.status_code == 200
    return response


def test_facility_page_links_to_its_dashboard(world, attendant_a, as_user):
    html = (
        as_user(attendant_a)
        .get(reverse("admin:facilities_facility_change", args=[world.a.facility.pk]))
        .content.decode()
    )

    assert reverse("admin:facilities_facility_dashboard", args=[world.a.facility.pk]) in html


def test_occupancy_now_per_zone(world, admin_a, as_user):
    facility, zone = world.a.facility, world.a.zone  # SPOT-A1 booked tomorrow, SPOT-A2
    now = timezone.now()
    for code in ("N1", "N2"):
        factories.BookingFactory(
            spot=factories.SpotFactory(zone=zone, code=code),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            status=BookingStatus.ACTIVE,
        )
    factories.SpotFactory(zone=zone, code="N3", status=SpotStatus.MAINTENANCE)
    factories.BookingFactory(  # over: does not count
        spot=factories.SpotFactory(zone=zone, code="N4"),
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=1),
        status=BookingStatus.COMPLETED,
    )
    empty = factories.ZoneFactory(facility=facility, name="Roof", level=3)

    response = dashboard(as_user(admin_a), facility)

    rows = {
        z.name: (z.occupied, z.free, z.in_maintenance, z.capacity)
        for z in response.context["zones"]
    }
    assert rows == {"Zone-A": (2, 3, 1, 5), empty.name: (0, 0, 0, 0)}
    html = response.content.decode()
    assert "Occupancy now" in html
    assert "All times in Europe/Helsinki" in html


def test_chart_shows_24_hours_of_booked_spots_against_capacity(world, admin_a, as_user):
    zone = world.a.zone
    now = timezone.now()
    factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone, code="C1"),
        starts_at=now,
        ends_at=now + timedelta(minutes=90),
    )

    response = dashboard(as_user(admin_a), world.a.facility)

    chart = response.context["chart"]
    booked = [bar.booked for bar in chart["bars"]]
    assert len(booked) == 24
    assert booked[0] == 1  # this hour
    assert booked[5] == 0
    assert chart["capacity"] == 3  # SPOT-A1, SPOT-A2, C1
    html = response.content.decode()
    assert html.count('<rect class="bar') == 24
    assert 'class="capacity"' in html
    current_hour = now.astimezone(HELSINKI).strftime("%H:00")
    assert f"{current_hour}: 1 of 3 spots booked" in html


def test_dashboard_loads_no_external_scripts(world, admin_a, as_user):
    html = dashboard(as_user(admin_a), world.a.facility).content.decode()

    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") for s in sources), sources


def test_arrivals_and_departures_of_the_local_day(world, admin_a, as_user):
    facility = factories.FacilityFactory(operator=world.a.operator, timezone="America/New_York")
    zone = factories.ZoneFactory(facility=facility)
    tz = ZoneInfo("America/New_York")
    today = timezone.now().astimezone(tz).date()

    def at(day, hh, mm):
        return datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)

    early = factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone, code="D1"),
        starts_at=at(today, 0, 5),
        ends_at=at(today, 1, 5),
        status=BookingStatus.COMPLETED,
    )
    late = factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone, code="D2"),
        starts_at=at(today, 23, 55),
        ends_at=at(today, 23, 55) + timedelta(hours=2),
    )
    tomorrow = today + timedelta(days=1)
    next_day = factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone, code="D3"),
        starts_at=at(tomorrow, 0, 5),
        ends_at=at(tomorrow, 0, 50),
    )
    cancelled = factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone, code="D4"),
        starts_at=at(today, 12, 0),
        ends_at=at(today, 13, 0),
        status=BookingStatus.CANCELLED,
    )

    response = dashboard(as_user(admin_a), facility)

    assert [b.reference for b in response.context["arrivals"]] == [early.reference, late.reference]
    assert [b.reference for b in response.context["departures"]] == [early.reference]
    html = response.content.decode()
    assert "<td>00:05</td>" in html
    assert "<td>23:55</td>" in html
    assert "<td>01:05</td>" in html
    assert next_day.reference not in html
    assert cancelled.reference not in html


def test_forecast_on_a_daylight_saving_morning_counts_real_hours(world):
    """Helsinki skips 03:00 on 30 March 2031: the chart shows 02:00 then 04:00."""
    facility = world.a.facility
    now = datetime(2031, 3, 30, 1, 30, tzinfo=HELSINKI)

    hours, booked = hourly_forecast(facility=facility, now=now)

    labels = [h.strftime("%H") for h in hours[:4]]
    assert labels == ["01", "02", "04", "05"]
    assert hours[3].astimezone(UTC) - hours[0].astimezone(UTC) == timedelta(hours=3)
    assert booked == [0] * 24
