"""Prometheus: the in-process series (HTTP counts and latency per view from
parkme.request_metrics, the database pools) plus ParkMe's own, behind an IP allow-list or token.

In-process series aggregate every gunicorn worker in Prometheus' multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set up by deploy/gunicorn.conf.py). ParkMe's own series are read
at scrape time (figures from parkme.monitoring, the database and Redis), so every process
contributes to them and a restart loses nothing:

- parkme_bookings_created_total, parkme_bookings_refused_total{reason}: counters kept in
  Redis; the booking service calls ``record_booking_created`` / ``record_booking_refused``;
- parkme_facility_occupied_spots / parkme_facility_spots {operator, facility}, the
  notification outbox and webhook backlogs: added by the apps that own them;
- parkme_response_cache_requests_total{result}, parkme_cache_hit_ratio: the API response
  cache's own counters (parkme_redis_keyspace_* are the Redis server's);
- parkme_celery_queue_length{queue}, parkme_celery_workers{queue}, beat's heartbeat,
  replicas' lag and health, backups and restore drills.
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
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from parkme import monitoring

logger = logging.getLogger(__name__)

_BOOKINGS_KEY = "metrics:bookings"
_CREATED_FIELD = "created"
_REFUSED_PREFIX = "refused:"
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


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
    figures = monitoring.response_cache_stats()
    requests = CounterMetricFamily(
        "parkme_response_cache_requests",
        "API response cache look-ups (search, detail), by result.",
        labels=["result"],
    )
    requests.add_metric(["hit"], figures["hits"])
    requests.add_metric(["miss"], figures["misses"])
    yield requests
    ratio = GaugeMetricFamily(
        "parkme_cache_hit_ratio", "Share of API response cache look-ups that were hits."
    )
    ratio.add_metric([], figures["hit_ratio"])
    yield ratio
    stats = _cache_redis().info("stats")
    yield CounterMetricFamily(
        "parkme_redis_keyspace_hits",
        "The Redis server's own key look-ups that hit (every client).",
        value=int(stats.get("keyspace_hits", 0)),
    )
    yield CounterMetricFamily(
        "parkme_redis_keyspace_misses",
        "The Redis server's own key look-ups that missed (every client).",
        value=int(stats.get("keyspace_misses", 0)),
    )


def _queue_lengths() -> Iterator[Metric]:
    lengths = monitoring.queue_lengths()
    if lengths is None:
        return
    gauge = GaugeMetricFamily(
        "parkme_celery_queue_length", "Tasks waiting on the broker.", labels=["queue"]
    )
    for queue, length in lengths.items():
        gauge.add_metric([queue], length)
    yield gauge


def _workers() -> Iterator[Metric]:
    figures = monitoring.celery_workers()
    gauge = GaugeMetricFamily(
        "parkme_celery_workers",
        "Celery workers that answered a ping, by queue they consume.",
        labels=["queue"],
    )
    for queue, count in figures["by_queue"].items():
        gauge.add_metric([queue], count)
    yield gauge


def _beat() -> Iterator[Metric]:
    import time

    heartbeat = monitoring.beat_heartbeat()
    at = heartbeat["last_tick"] or 0.0
    yield GaugeMetricFamily(
        "parkme_beat_heartbeat_timestamp_seconds",
        "Unix time of celery beat's last tick (0 if never seen).",
        value=at,
    )
    yield GaugeMetricFamily(
        "parkme_beat_heartbeat_age_seconds",
        "Seconds since celery beat's last tick (huge if never seen).",
        value=time.time() - at,
    )


def _replicas() -> Iterator[Metric]:
    replicas = monitoring.replica_figures()
    if not replicas:
        return
    lag = GaugeMetricFamily(
        "parkme_replica_lag_seconds", "Replication lag of each replica.", labels=["replica"]
    )
    healthy = GaugeMetricFamily(
        "parkme_replica_healthy",
        "1 when the replica answers and lags less than REPLICA_MAX_LAG_SECONDS.",
        labels=["replica"],
    )
    for alias, status in replicas.items():
        if status.get("lag_seconds") is not None:
            lag.add_metric([alias], float(status["lag_seconds"]))
        healthy.add_metric([alias], 1.0 if status.get("ok") else 0.0)
    yield lag
    yield healthy


def _backups() -> Iterator[Metric]:
    from parkme.backup_jobs import backup_metrics

    yield from backup_metrics()


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


ParkMeCollector.sources = [
    _booking_counters,
    _cache_stats,
    _queue_lengths,
    _workers,
    _beat,
    _replicas,
    _backups,
]


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
    monitoring.pool_gauges_record(force=True)
    body = generate_latest(monitoring.process_registry()) + generate_latest(registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


@require_safe
@never_cache
def stats_view(request: HttpRequest) -> HttpResponse:
    """`/monitoring/stats/`: the figures of `/metrics` as one JSON page, for ops without
    Prometheus; served to the same callers."""
    if not metrics_request_allowed(request):
        from parkme.api.errors import error_body

        return JsonResponse(
            error_body("permission_denied", "Monitoring is only served to monitoring."),
            status=403,
        )
    return JsonResponse(monitoring.ops_stats(), json_dumps_params={"indent": 2})
