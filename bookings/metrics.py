"""Prometheus series read from bookings at scrape time (added to parkme.metrics' collector
by bookings.apps): occupancy by the one definition in bookings.occupancy, and the
notification outbox backlog."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from bookings.models import Notification, NotificationStatus
from bookings.occupancy import capacity_by_facility, occupied_now_by_facility
from facilities.models import Facility


def occupancy_gauges() -> Iterator[Metric]:
    facilities = list(Facility.objects.active().values_list("id", "operator__slug", "slug"))
    ids = [facility_id for facility_id, _, _ in facilities]
    occupied_now = occupied_now_by_facility(facility_ids=ids, at=timezone.now())
    capacity = capacity_by_facility(facility_ids=ids)
    occupied = GaugeMetricFamily(
        "parkme_facility_occupied_spots",
        "Spots occupied by bookings right now.",
        labels=["operator", "facility"],
    )
    spots = GaugeMetricFamily(
        "parkme_facility_spots", "Bookable spots.", labels=["operator", "facility"]
    )
    for facility_id, operator, slug in facilities:
        occupied.add_metric([operator, slug], occupied_now[facility_id])
        spots.add_metric([operator, slug], capacity[facility_id])
    yield occupied
    yield spots


def notification_backlog() -> Iterator[Metric]:
    wanted = [NotificationStatus.PENDING, NotificationStatus.FAILED]
    counts = dict(
        Notification.objects.filter(status__in=wanted)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    gauge = GaugeMetricFamily(
        "parkme_notifications", "Notifications waiting or given up on.", labels=["status"]
    )
    for status in wanted:
        gauge.add_metric([status.value], counts.get(status.value, 0))
    yield gauge


SOURCES = (occupancy_gauges, notification_backlog)
