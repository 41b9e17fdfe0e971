"""What ops watch: HTTP series per view, pools, workers, beat, cache ratio, backlogs, on
`/metrics`, `/health/ready/` and `/monitoring/stats/`."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from bookings.models import Notification, NotificationKind
from bookings.states import BookingStatus
from parkme.monitoring import beat_heartbeat_record
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests import factories

pytestmark = pytest.mark.django_db
STRANGER = "203.0.113.9"


def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples, name, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_requests_are_counted_per_view_status_and_timed(client, facility_a):
    # The series live in this process since it started: compare before and after.
    responses = "django_http_responses_total_by_status_view_method_total"
    latency = "django_http_requests_latency_seconds_by_view_method"
    view = "facility"

    def figures(samples):
        return [
            samples.get((responses, (("method", "GET"), ("status", "200"), ("view", view))), 0),
            samples.get((responses, (("method", "GET"), ("status", "404"), ("view", view))), 0),
            samples.get((f"{latency}_count", (("method", "GET"), ("view", view))), 0),
            samples.get(
                (f"{latency}_bucket", (("le", "0.3"), ("method", "GET"), ("view", view))), 0
            ),
        ]

    before = figures(_scrape(client))
    api = APIClient()
    for _ in range(3):
        assert api.get(f"/api/v1/facilities/{facility_a.id}/").status_code == 200
    assert api.get("/api/v1/facilities/999999/").status_code == 404
    after = figures(_scrape(client))

    ok, missing, timed, under_300ms = (a - b for a, b in zip(after, before, strict=True))
    assert (ok, missing, timed) == (3, 1, 4)
    # The p95 alert's line (300 ms) is a bucket boundary, so the quantile is exact there.
    assert 0 <= under_300ms <= 4


def test_this_processes_pool_is_exported(client, facility_a):
    samples = _scrape(client)
    assert _value(samples, "parkme_db_pool_max", alias="default") >= 1
    assert _value(samples, "parkme_db_pool_size", alias="default") >= 1
    # The scrape itself holds a connection while the figures are taken.
    assert _value(samples, "parkme_db_pool_waiting", alias="default") == 0


def test_the_cache_ratio_is_the_response_caches_own(client, facility_a):
    api = APIClient()
    url = f"/api/v1/facilities/{facility_a.id}/"
    assert api.get(url)["X-Cache"] == "MISS"
    assert api.get(url)["X-Cache"] == "HIT"
    assert api.get(url)["X-Cache"] == "HIT"

    samples = _scrape(client)

    requests = "parkme_response_cache_requests_total"
    assert _value(samples, requests, result="hit") == 2
    assert _value(samples, requests, result="miss") == 1
    assert _value(samples, "parkme_cache_hit_ratio") == pytest.approx(2 / 3, abs=1e-3)


def test_backlogs_of_notifications_and_webhooks(client, facility_a, operator_a):
    booking = factories.BookingFactory(facility=facility_a)
    old = Notification.objects.create(booking=booking, kind=NotificationKind.CONFIRMED)
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    endpoint = WebhookEndpoint.objects.create(
        operator=operator_a, url="https://hooks.example.com/a", event_types=["booking.created"]
    )
    dead = WebhookEndpoint.objects.create(
        operator=operator_a,
        url="https://hooks.example.com/b",
        event_types=["booking.created"],
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason="20 events in a row failed",
    )
    WebhookEndpoint.objects.create(  # switched off by its operator: not an alarm
        operator=operator_a, url="https://hooks.example.com/c", is_active=False
    )
    until = timezone.now() + timedelta(hours=24)
    for status, created in (
        (DeliveryStatus.PENDING, timezone.now() - timedelta(minutes=20)),
        (DeliveryStatus.PENDING, timezone.now()),
        (DeliveryStatus.FAILED, timezone.now()),
        (DeliveryStatus.DELIVERED, timezone.now()),
    ):
        WebhookDelivery.objects.create(
            endpoint=endpoint if status != DeliveryStatus.FAILED else dead,
            event_type="booking.created",
            payload="{}",
            status=status,
            retry_until=until,
            created_at=created,
        )

    samples = _scrape(client)

    assert _value(samples, "parkme_webhook_deliveries", status="pending") == 2
    assert _value(samples, "parkme_webhook_deliveries", status="failed") == 1
    assert _value(samples, "parkme_webhook_endpoints_disabled") == 1
    assert 20 * 60 <= _value(samples, "parkme_webhook_oldest_pending_age_seconds") < 21 * 60
    assert _value(samples, "parkme_notifications", status="pending") == 1
    assert 3600 <= _value(samples, "parkme_notifications_oldest_pending_age_seconds") < 3700


def test_without_beat_and_workers_readiness_is_healthy_but_degraded(client):
    with override_settings(MONITORING_WORKER_PING_SECONDS=0.2):
        response = client.get("/health/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["degraded"]) >= {"beat", "workers"}
    assert body["checks"]["beat"] == {
        "ok": False,
        "error": "beat has never ticked",
        "age_seconds": None,
        "ms": body["checks"]["beat"]["ms"],
        "critical": False,
    }
    assert body["checks"]["workers"]["ok"] is False
    assert "no worker answered" in body["checks"]["workers"]["error"]


def test_a_recent_heartbeat_is_ok_and_a_stale_one_degraded(client):
    beat_heartbeat_record(force=True)
    fresh = client.get("/health/ready/").json()
    assert fresh["checks"]["beat"]["ok"] is True
    assert "beat" not in fresh["degraded"]
    samples = _scrape(client)
    assert _value(samples, "parkme_beat_heartbeat_age_seconds") < 5
    assert _value(samples, "parkme_beat_heartbeat_timestamp_seconds") == pytest.approx(
        time.time(), abs=10
    )

    with override_settings(MONITORING_BEAT_STALE_SECONDS=0):
        time.sleep(0.05)
        stale = client.get("/health/ready/")
    assert stale.status_code == 200
    assert stale.json()["status"] == "healthy"
    assert stale.json()["checks"]["beat"]["ok"] is False
    assert "last tick was" in stale.json()["checks"]["beat"]["error"]


def test_never_seen_beat_exports_a_huge_age(client):
    samples = _scrape(client)
    assert _value(samples, "parkme_beat_heartbeat_timestamp_seconds") == 0
    assert _value(samples, "parkme_beat_heartbeat_age_seconds") > 10 * 365 * 86400


def test_monitoring_stats_are_refused_to_strangers(client):
    response = client.get("/monitoring/stats/", REMOTE_ADDR=STRANGER)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@override_settings(METRICS_BEARER_TOKEN="scrape-me-please")
def test_monitoring_stats_take_the_metrics_token(client):
    good = client.get(
        "/monitoring/stats/", REMOTE_ADDR=STRANGER, HTTP_AUTHORIZATION="Bearer scrape-me-please"
    )
    assert good.status_code == 200


def test_monitoring_stats_show_every_section(client, facility_a, django_assert_max_num_queries):
    now = timezone.now()
    factories.BookingFactory(
        facility=facility_a,
        status=BookingStatus.ACTIVE,
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(minutes=30),
    )
    factories.BookingFactory(  # next week: not today
        facility=facility_a,
        starts_at=now + timedelta(days=7),
        ends_at=now + timedelta(days=7, hours=1),
    )
    beat_heartbeat_record(force=True)
    APIClient().get(f"/api/v1/facilities/{facility_a.id}/")

    with override_settings(MONITORING_WORKER_PING_SECONDS=0.2):
        with django_assert_max_num_queries(12):
            response = client.get("/monitoring/stats/")

    assert response.status_code == 200
    stats = response.json()
    assert {
        "pool",
        "queues",
        "workers",
        "beat",
        "cache",
        "http",
        "replicas",
        "backups",
        "bookings_today",
        "notifications",
        "webhooks",
    } <= set(stats)
    for name, section in stats.items():
        assert not (isinstance(section, dict) and "error" in section), (name, section)
    assert stats["pool"]["this_process"]["default"]["max"] >= 1
    assert set(stats["queues"]) == {"celery", "notifications", "maintenance"}
    assert stats["workers"]["total"] == 0
    assert stats["beat"]["ok"] is True
    assert stats["http"]["2xx"] >= 1
    today = stats["bookings_today"]
    assert today["in_window_by_status"]["active"] == 1
    assert today["in_window"] == 1
    assert today["created"] == 2
    assert stats["webhooks"]["pending"] == 0
    assert stats["notifications"]["failed"] == 0
