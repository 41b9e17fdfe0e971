"""Prometheus series read from bookings at scrape time (added to parkme.metrics' collector
by bookings.apps): occupancy by the one definition in bookings.occupancy, and the
notification outbox backlog; and the bookings sections of `/monitoring/stats/`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from bookings.models import Booking, Notification, NotificationStatus
from bookings.occupancy import capacity_by_facility, occupied_now_by_facility
from bookings.states import BookingStatus
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


def notifications_summary(*, now: datetime | None = None) -> dict[str, Any]:
    """The outbox: e-mails waiting (and the oldest one's age) and given up on."""
    now = now or timezone.now()
    pending = Notification.objects.filter(status=NotificationStatus.PENDING).aggregate(
        n=Count("pk"), oldest=Min("created_at")
    )
    failed = Notification.objects.filter(status=NotificationStatus.FAILED).count()
    oldest = pending["oldest"]
    return {
        "pending": pending["n"],
        "failed": failed,
        "oldest_pending_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
    }


def notification_backlog() -> Iterator[Metric]:
    summary = notifications_summary()
    gauge = GaugeMetricFamily(
        "parkme_notifications", "Notifications waiting or given up on.", labels=["status"]
    )
    gauge.add_metric([NotificationStatus.PENDING.value], summary["pending"])
    gauge.add_metric([NotificationStatus.FAILED.value], summary["failed"])
    yield gauge
    yield GaugeMetricFamily(
        "parkme_notifications_oldest_pending_age_seconds",
        "Age of the oldest pending notification (0 when none).",
        value=summary["oldest_pending_age_seconds"],
    )


def bookings_today(*, now: datetime | None = None) -> dict[str, Any]:
    """Bookings of the server's current day (TIME_ZONE): created today, and those whose
    window touches today by status. One query over bookings not yet anonymised that end
    after midnight (the retention index), so history never enters it."""
    now = timezone.localtime(now or timezone.now())
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    day_end = day_start + timedelta(days=1)
    in_day = Q(starts_at__lt=day_end)
    counts = Booking.objects.filter(anonymized_at__isnull=True, ends_at__gt=day_start).aggregate(
        created=Count("pk", filter=Q(created_at__gte=day_start, created_at__lt=day_end)),
        **{
            status.value: Count("pk", filter=in_day & Q(status=status.value))
            for status in BookingStatus
        },
    )
    created = counts.pop("created")
    return {
        "day": day_start.date().isoformat(),
        "time_zone": str(now.tzinfo),
        "created": created,
        "in_window_by_status": counts,
        "in_window": sum(counts.values()),
    }


SOURCES = (occupancy_gauges, notification_backlog)
STATS_SECTIONS = {"bookings_today": bookings_today, "notifications": notifications_summary}
