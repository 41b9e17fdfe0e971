"""One definition of occupancy: the dashboard, the hourly roll-up, the report and the metric
show the same figure for the same moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bookings import sweeps
from bookings.dashboard import dashboard_context
from bookings.occupancy import capacity_by_facility, occupied_now_by_facility
from bookings.reports import occupancy_report
from bookings.states import BookingStatus
from facilities.models import OccupancyRollup, SpotStatus
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    """Four bookable spots and one in maintenance; at this moment a held and an active
    booking occupy two spots, a cancelled one does not, and a confirmed one is days away."""
    now = timezone.now()
    hour = sweeps.hour_start(now)
    facility = factories.FacilityFactory(slug="seeded", operator__slug="seeded-op")
    factories.RateVersionFactory(facility=facility)
    zone = factories.ZoneFactory(facility=facility)
    spots = factories.SpotFactory.create_batch(4, zone=zone)
    factories.SpotFactory(zone=zone, status=SpotStatus.MAINTENANCE)
    around = {"starts_at": hour - timedelta(hours=1), "ends_at": hour + timedelta(hours=2)}
    factories.BookingFactory(spot=spots[0], status=BookingStatus.HELD, **around)
    factories.BookingFactory(spot=spots[1], status=BookingStatus.ACTIVE, **around)
    factories.BookingFactory(spot=spots[2], status=BookingStatus.CANCELLED, **around)
    factories.BookingFactory(
        spot=spots[3],
        starts_at=hour + timedelta(days=3),
        ends_at=hour + timedelta(days=3, hours=2),
    )
    return facility, now


def _metric(client, name: str, facility) -> float:
    body = client.get("/metrics").content.decode()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("facility") == facility.slug:
                return sample.value
    raise AssertionError(f"{name} not exported for {facility.slug}")


def test_dashboard_rollup_report_and_metric_agree(seeded, client):
    facility, now = seeded

    dashboard = dashboard_context(facility=facility, now=now)
    sweeps.occupancy_roll_up(hour=now)
    rollup = OccupancyRollup.objects.get(facility=facility, hour=sweeps.hour_start(now))
    local_day = now.astimezone(facility.tz).date()
    (report,) = occupancy_report(facility=facility, date_from=local_day, date_to=local_day)

    assert occupied_now_by_facility(facility_ids=[facility.pk], at=now) == {facility.pk: 2}
    assert capacity_by_facility(facility_ids=[facility.pk]) == {facility.pk: 4}
    # Occupied now: the held and the active booking, never the cancelled one.
    assert dashboard["totals"].occupied == 2
    assert _metric(client, "parkme_facility_occupied_spots", facility) == 2
    assert rollup.spots_used == 2
    assert dashboard["chart"]["bars"][0].booked == 2  # this hour of the forecast
    assert report.bookings == 2
    # Capacity: bookable spots only, the one in maintenance left out, everywhere.
    assert dashboard["chart"]["capacity"] == 4
    assert dashboard["totals"].capacity == 4
    assert _metric(client, "parkme_facility_spots", facility) == 4
    assert rollup.spots_total == 4
    assert report.spots == 4
    # Two spots booked for the whole hour.
    assert rollup.occupied_minutes == 120
