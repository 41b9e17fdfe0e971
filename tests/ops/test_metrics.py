from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bookings.models import Notification, NotificationKind
from bookings.states import BookingStatus
from facilities.models import SpotStatus
from parkme.metrics import record_booking_created, record_booking_refused
from tests import factories

pytestmark = pytest.mark.django_db
STRANGER = "203.0.113.9"


def _scrape(client, **extra) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_are_refused_to_strangers(client):
    response = client.get("/metrics", REMOTE_ADDR=STRANGER)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_behind_the_proxy_the_forwarded_client_address_is_what_counts(client):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest):
        outside = client.get("/metrics", HTTP_X_FORWARDED_FOR=STRANGER)
        spoofed = client.get("/metrics", HTTP_X_FORWARDED_FOR=f"127.0.0.1, {STRANGER}")
        monitor = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert outside.status_code == 403
    assert spoofed.status_code == 403
    assert monitor.status_code == 403
    with override_settings(REST_FRAMEWORK=rest, METRICS_ALLOWED_IPS=["10.0.0.0/8"]):
        assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200


@override_settings(METRICS_BEARER_TOKEN="scrape-me-please")
def test_a_scraper_with_the_token_is_let_in_from_anywhere(client):
    good = client.get(
        "/metrics", REMOTE_ADDR=STRANGER, HTTP_AUTHORIZATION="Bearer scrape-me-please"
    )
    bad = client.get("/metrics", REMOTE_ADDR=STRANGER, HTTP_AUTHORIZATION="Bearer guess")
    assert good.status_code == 200
    assert bad.status_code == 403


def test_parkme_series_show_bookings_occupancy_and_the_outbox(client, facility_a):
    zone = factories.ZoneFactory(facility=facility_a)
    spots = factories.SpotFactory.create_batch(3, zone=zone)
    factories.SpotFactory(zone=zone, status=SpotStatus.MAINTENANCE)
    now = timezone.now()
    parked = factories.BookingFactory(
        spot=spots[0],
        status=BookingStatus.ACTIVE,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    later = factories.BookingFactory(spot=spots[1])  # tomorrow: not occupying now
    Notification.objects.create(booking=parked, kind=NotificationKind.CONFIRMED, status="sent")
    Notification.objects.create(booking=later, kind=NotificationKind.CONFIRMED, status="pending")
    Notification.objects.create(booking=later, kind="reminder_start", status="pending")
    Notification.objects.create(booking=parked, kind="ending_soon", status="failed")
    record_booking_created()
    record_booking_created()
    record_booking_refused("no_availability")
    record_booking_refused("Not A Code; DROP")  # free text never becomes a label

    samples = _scrape(client)

    labels = (("facility", "a-garage"), ("operator", "operator-a"))
    assert samples[("parkme_facility_occupied_spots", labels)] == 1
    assert samples[("parkme_facility_spots", labels)] == 3
    assert samples[("parkme_notifications", (("status", "pending"),))] == 2
    assert samples[("parkme_notifications", (("status", "failed"),))] == 1
    assert samples[("parkme_bookings_created_total", ())] == 2
    assert samples[("parkme_bookings_refused_total", (("reason", "no_availability"),))] == 1
    assert samples[("parkme_bookings_refused_total", (("reason", "other"),))] == 1
    assert any(name.startswith("python_") for name, _ in samples)  # prometheus_client's own


def test_cache_misses_and_celery_backlog_show_up(client):
    queue = f"ops-test-{uuid.uuid4().hex[:8]}"
    prefix = (settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("global_keyprefix", "")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        broker.lpush(prefix + queue, "a", "b", "c")
        broker.lpush(prefix + queue + "\x06\x166", "urgent")
        with override_settings(METRICS_CELERY_QUEUES=[queue]):
            before = _scrape(client)
            assert cache.get(f"never-set-{uuid.uuid4().hex}") is None
            after = _scrape(client)
    finally:
        broker.delete(prefix + queue, prefix + queue + "\x06\x166")
        broker.close()
    assert after[("parkme_celery_queue_length", (("queue", queue),))] == 4
    misses = "parkme_redis_keyspace_misses_total"
    assert after[(misses, ())] >= before[(misses, ())] + 1
    assert 0 <= after[("parkme_cache_hit_ratio", ())] <= 1


@pytest.mark.urls("tests.ops.urls")
def test_slow_queries_are_logged_with_the_request_id(client, caplog):
    caplog.set_level(logging.WARNING, logger="parkme.slow_queries")
    with override_settings(SLOW_QUERY_MS=20):
        client.get("/ops-probe/slow/", {"seconds": "0.05"}, HTTP_X_REQUEST_ID="slow-req-1")
    with override_settings(SLOW_QUERY_MS=10_000):
        client.get("/ops-probe/slow/", {"seconds": "0.05"}, HTTP_X_REQUEST_ID="quick-req-2")
    logged = [r.getMessage() for r in caplog.records if r.name == "parkme.slow_queries"]
    assert len(logged) == 1
    assert "slow-req-1" in logged[0]
    assert "pg_sleep" in logged[0]
    assert "0.05" not in logged[0]  # parameters (plates, e-mails) are never logged
