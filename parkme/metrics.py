"""Prometheus: django-prometheus' series plus ParkMe's own, behind an IP allow-list or token.

ParkMe's series are read at scrape time from the database and Redis, so every gunicorn and
Celery process contributes to them and a restart loses nothing:

- parkme_bookings_created_total, parkme_bookings_refused_total{reason}: counters kept in
  Redis; the booking service calls ``record_booking_created`` / ``record_booking_refused``;
- parkme_facility_occupied_spots / parkme_facility_spots {operator, facility}: spots
  occupied now (bookings.occupancy's definition) and bookable capacity (from bookings);
- parkme_notifications{status="pending"|"failed"}: the outbox backlog (from bookings);
- parkme_cache_hit_ratio (+ hits/misses totals) from Redis' own counters;
- parkme_celery_queue_length{queue}: messages waiting on the broker.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)

_BOOKINGS_KEY = "metrics:bookings"
_CREATED_FIELD = "created"
_REFUSED_PREFIX = "refused:"
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# kombu's Redis transport keeps priority levels of a queue in sibling lists.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


# --- counters the booking service feeds --------------------------------------------------


def _cache_redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _bump(field: str) -> None:
    from django.core.cache import cache

    try:
        _cache_redis().hincrby(cache.make_key(_BOOKINGS_KEY), field, 1)
    except Exception:  # noqa: BLE001 - metrics must never fail a booking
        logger.debug("metrics counter %s not recorded", field, exc_info=True)


def record_booking_created() -> None:
    _bump(_CREATED_FIELD)


def record_booking_refused(reason: str) -> None:
    """Count a refused booking; ``reason`` is the error code the client saw."""
    _bump(_REFUSED_PREFIX + (reason if _REASON.match(reason) else "other"))


# --- the collector ------------------------------------------------------------------------


def _booking_counters() -> Iterator[Metric]:
    from django.core.cache import cache

    raw = _cache_redis().hgetall(cache.make_key(_BOOKINGS_KEY))
    values = {k.decode(): int(v) for k, v in raw.items()}
    created = CounterMetricFamily("parkme_bookings_created", "Bookings created.")
    created.add_metric([], values.get(_CREATED_FIELD, 0))
    yield created
    refused = CounterMetricFamily(
        "parkme_bookings_refused", "Booking requests refused, by reason.", labels=["reason"]
    )
    for field, value in sorted(values.items()):
        if field.startswith(_REFUSED_PREFIX):
            refused.add_metric([field.removeprefix(_REFUSED_PREFIX)], value)
    yield refused


def _cache_stats() -> Iterator[Metric]:
    stats = _cache_redis().info("stats")
    hits, misses = int(stats.get("keyspace_hits", 0)), int(stats.get("keyspace_misses", 0))
    ratio = GaugeMetricFamily(
        "parkme_cache_hit_ratio", "Share of Redis look-ups that found their key."
    )
    ratio.add_metric([], hits / (hits + misses) if hits + misses else 0.0)
    yield ratio
    yield CounterMetricFamily("parkme_cache_hits", "Redis look-ups that hit.", value=hits)
    yield CounterMetricFamily("parkme_cache_misses", "Redis look-ups that missed.", value=misses)


def _queue_lengths() -> Iterator[Metric]:
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        gauge = GaugeMetricFamily(
            "parkme_celery_queue_length", "Tasks waiting on the broker.", labels=["queue"]
        )
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
        prefix = options.get("global_keyprefix", "")
        for queue in settings.METRICS_CELERY_QUEUES:
            keys = [prefix + queue + suffix for suffix in _PRIORITY_SUFFIXES]
            gauge.add_metric([queue], sum(client.llen(key) for key in keys))
        yield gauge
    finally:
        client.close()


Source = Callable[[], Iterator[Metric]]


class ParkMeCollector:
    """Reads every source at scrape time. Core's own sources are listed here; apps above
    core add theirs when they start (bookings.apps: occupancy, the outbox backlog)."""

    sources: list[Source] = []

    def describe(self) -> Iterable[Metric]:
        return []  # no scrape at registration time: collect() reads the database

    def collect(self) -> Iterator[Metric]:
        # One failing source (Redis down, say) must not blank the whole page.
        for source in self.sources:
            try:
                yield from list(source())
            except Exception:  # noqa: BLE001
                logger.warning("metrics source %s failed", source.__name__, exc_info=True)


ParkMeCollector.sources = [_booking_counters, _cache_stats, _queue_lengths]


def add_source(source: Source) -> None:
    if source not in ParkMeCollector.sources:
        ParkMeCollector.sources.append(source)


registry = CollectorRegistry(auto_describe=False)
registry.register(ParkMeCollector())


# --- the restricted view ------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The caller's address, trusting X-Forwarded-For only as far as NUM_PROXIES (as DRF)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    addresses = [a.strip() for a in forwarded.split(",")]
    return addresses[-min(proxies, len(addresses))]


def metrics_request_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.METRICS_ALLOWED_IPS
    )


@require_safe
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_request_allowed(request):
        from parkme.api.errors import error_body

        return JsonResponse(
            error_body("permission_denied", "Metrics are only served to monitoring."),
            status=403,
        )
    django_part = ExportToDjangoView(request).content
    return HttpResponse(django_part + generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
