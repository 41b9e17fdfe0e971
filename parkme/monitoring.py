"""What ops watch, computed in one place: `/metrics` (parkme.metrics), `/health/ready/`
(parkme.health) and `/monitoring/stats/` all read these figures.

- the database pools of this process (psycopg_pool's own statistics), also written to
  per-process gauges so a scrape of one gunicorn worker shows every worker's pool;
- Celery: messages waiting per queue (the broker's lists) and workers that answer a ping,
  per queue (cached briefly: a ping waits for replies);
- beat's heartbeat: the scheduler (parkme.beat) records each tick in Redis;
- the API response cache's own hit and miss counters (parkme.cache_versions);
- replicas (health and lag), backups and restore drills (parkme.backups).

Apps above core add their sections when they start (bookings: bookings today and the
notification outbox; webhooks: the delivery backlog), as they add metric sources.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from prometheus_client import Gauge

logger = logging.getLogger(__name__)

# --- database pools -----------------------------------------------------------------------

_POOL_LABELS = ["alias"]
# "liveall": in multiprocess mode each live process has its own series (label pid), and a
# dead worker's series go when gunicorn reports it gone (deploy/gunicorn.conf.py).
POOL_SIZE = Gauge(
    "parkme_db_pool_size", "Connections open in this process's pool.", _POOL_LABELS,
    multiprocess_mode="liveall",
)  # fmt: skip
POOL_MAX = Gauge(
    "parkme_db_pool_max", "The pool's maximum size.", _POOL_LABELS, multiprocess_mode="liveall"
)
POOL_IN_USE = Gauge(
    "parkme_db_pool_in_use", "Pooled connections lent out now.", _POOL_LABELS,
    multiprocess_mode="liveall",
)  # fmt: skip
POOL_WAITING = Gauge(
    "parkme_db_pool_waiting", "Requests waiting for a pooled connection now.", _POOL_LABELS,
    multiprocess_mode="liveall",
)  # fmt: skip

_POOL_RECORD_EVERY_SECONDS = 1.0
_pool_recorded_at = 0.0


def pool_stats() -> dict[str, dict[str, int]]:
    """This process's connection pools, per database alias (only pools that exist: reading
    the figures never opens a pool)."""
    from django.db import connections

    pools: dict[str, Any] = {}
    for alias in connections:
        wrapper = connections[alias]
        existing = getattr(wrapper, "_connection_pools", {})
        if alias in existing:
            pools[alias] = existing[alias]
    figures = {}
    for alias, pool in pools.items():
        stats = pool.get_stats()
        size = int(stats.get("pool_size", 0))
        available = int(stats.get("pool_available", 0))
        figures[alias] = {
            "size": size,
            "max": int(stats.get("pool_max", pool.max_size)),
            "in_use": max(size - available, 0),
            "available": available,
            "waiting": int(stats.get("requests_waiting", 0)),
        }
    return figures


def pool_gauges_record(*, force: bool = False) -> None:
    """Write this process's pool figures to its gauges, at most once a second (called as
    each response leaves, while the request still holds its connection)."""
    global _pool_recorded_at
    now = time.monotonic()
    if not force and now - _pool_recorded_at < _POOL_RECORD_EVERY_SECONDS:
        return
    _pool_recorded_at = now
    try:
        for alias, figures in pool_stats().items():
            POOL_SIZE.labels(alias).set(figures["size"])
            POOL_MAX.labels(alias).set(figures["max"])
            POOL_IN_USE.labels(alias).set(figures["in_use"])
            POOL_WAITING.labels(alias).set(figures["waiting"])
    except Exception:  # noqa: BLE001 - figures must never fail a response
        logger.debug("pool figures not recorded", exc_info=True)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(
        "prometheus_multiproc_dir", ""
    )


def process_registry():
    """The registry holding the in-process series (HTTP, pools): every gunicorn worker's,
    summed, in multiprocess mode; this process's otherwise."""
    import prometheus_client
    from prometheus_client import multiprocess

    if multiprocess_dir():
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def pool_processes() -> list[dict[str, Any]]:
    """Every live process's pool figures as its gauges last recorded them."""
    pool_gauges_record(force=True)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    wanted = {
        "parkme_db_pool_size": "size",
        "parkme_db_pool_max": "max",
        "parkme_db_pool_in_use": "in_use",
        "parkme_db_pool_waiting": "waiting",
    }
    for family in process_registry().collect():
        if family.name not in wanted:
            continue
        for sample in family.samples:
            pid = sample.labels.get("pid", str(os.getpid()))
            alias = sample.labels.get("alias", "default")
            row = rows.setdefault((pid, alias), {"pid": int(pid), "alias": alias})
            row[wanted[family.name]] = int(sample.value)
    return sorted(rows.values(), key=lambda r: (r["alias"], r["pid"]))


# --- HTTP ---------------------------------------------------------------------------------


def http_totals() -> dict[str, int]:
    """Responses since the processes started, by status class (all gunicorn workers)."""
    totals = {"total": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
    for family in process_registry().collect():
        if family.name != "django_http_responses_total_by_status_view_method":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            status_class = f"{str(sample.labels.get('status', '0'))[:1]}xx"
            totals["total"] += int(sample.value)
            if status_class in totals:
                totals[status_class] += int(sample.value)
    return totals


# --- Celery: queues, workers, beat --------------------------------------------------------

# kombu's Redis transport keeps priority levels of a queue in sibling lists.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_lengths() -> dict[str, int] | None:
    """Messages waiting per queue; None when the broker is not Redis."""
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
        prefix = options.get("global_keyprefix", "")
        pipe = client.pipeline(transaction=False)
        for queue in settings.METRICS_CELERY_QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(prefix + queue + suffix)
        counts = pipe.execute()
    finally:
        client.close()
    per_queue = len(_PRIORITY_SUFFIXES)
    return {
        queue: sum(counts[i * per_queue : (i + 1) * per_queue])
        for i, queue in enumerate(settings.METRICS_CELERY_QUEUES)
    }


_WORKERS_KEY = "monitoring:workers"


def _ping_workers() -> dict[str, list[str]]:
    """{worker name: [queues it consumes]} for every worker that answered in time."""
    from celery import current_app

    replies = current_app.control.inspect(timeout=settings.MONITORING_WORKER_PING_SECONDS)
    answered = replies.active_queues() or {}
    return {
        name: sorted(q["name"] for q in queues if isinstance(q, dict) and "name" in q)
        for name, queues in answered.items()
    }


def celery_workers(*, refresh: bool = False) -> dict[str, Any]:
    """Workers that answered a ping, and how many consume each queue. A ping waits for
    replies, so the answer is kept for MONITORING_WORKER_CACHE_SECONDS (all processes)."""
    found = None if refresh else cache.get(_WORKERS_KEY)
    if found is None:
        found = {"workers": _ping_workers(), "pinged_at": time.time()}
        cache.set(_WORKERS_KEY, found, settings.MONITORING_WORKER_CACHE_SECONDS)
    workers: dict[str, list[str]] = found["workers"]
    by_queue = {
        queue: sum(1 for queues in workers.values() if queue in queues)
        for queue in settings.METRICS_CELERY_QUEUES
    }
    return {
        "total": len(workers),
        "by_queue": by_queue,
        "names": sorted(workers),
        "pinged_at": found["pinged_at"],
    }


_BEAT_KEY = "monitoring:beat:heartbeat"
_BEAT_RECORD_EVERY_SECONDS = 10.0
_beat_recorded_at = 0.0


def beat_heartbeat_record(*, force: bool = False) -> None:
    """Called by beat's scheduler on every tick; written at most every 10 s."""
    global _beat_recorded_at
    now = time.monotonic()
    if not force and now - _beat_recorded_at < _BEAT_RECORD_EVERY_SECONDS:
        return
    _beat_recorded_at = now
    cache.set(_BEAT_KEY, time.time(), None)


def beat_heartbeat() -> dict[str, Any]:
    """When beat last ticked, and whether that is recent enough."""
    at = cache.get(_BEAT_KEY)
    age = time.time() - at if at is not None else None
    return {
        "last_tick": at,
        "age_seconds": round(age, 1) if age is not None else None,
        "ok": age is not None and age <= settings.MONITORING_BEAT_STALE_SECONDS,
        "stale_after_seconds": settings.MONITORING_BEAT_STALE_SECONDS,
    }


# --- cache, replicas ----------------------------------------------------------------------


def response_cache_stats() -> dict[str, Any]:
    from parkme import cache_versions

    counts = cache_versions.stats()
    looked_up = counts["hits"] + counts["misses"]
    return {**counts, "hit_ratio": round(counts["hits"] / looked_up, 4) if looked_up else 0.0}


def replica_figures() -> dict[str, dict]:
    from parkme.replicas import replica_statuses

    return {status.alias: status.as_dict() for status in replica_statuses(refresh=False)}


# --- the stats page's sections ------------------------------------------------------------

Section = Callable[[], Any]


def _pool_section() -> dict[str, Any]:
    return {"this_process": pool_stats(), "processes": pool_processes()}


def _backups_section() -> dict[str, Any]:
    from parkme.backup_jobs import backup_summary

    return backup_summary()


STATS_SECTIONS: dict[str, Section] = {
    "pool": _pool_section,
    "queues": queue_lengths,
    "workers": celery_workers,
    "beat": beat_heartbeat,
    "cache": response_cache_stats,
    "http": http_totals,
    "replicas": replica_figures,
    "backups": _backups_section,
}


def add_stats_section(name: str, section: Section) -> None:
    STATS_SECTIONS.setdefault(name, section)


def ops_stats() -> dict[str, Any]:
    """Every section; one that fails says so instead of blanking the page."""
    from django.utils import timezone

    page: dict[str, Any] = {"generated_at": timezone.now().isoformat()}
    for name, section in STATS_SECTIONS.items():
        try:
            page[name] = section()
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            logger.warning("stats section %s failed", name, exc_info=True)
            page[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return page
