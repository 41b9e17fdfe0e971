"""Liveness (no I/O) and readiness (each dependency with ok and milliseconds).

Readiness answers 503 ("unhealthy") only when this node cannot serve: the database or the
cache is down. Replicas, the broker, beat and the workers are reported too; when one of
them fails the node still serves ("healthy", 200) and the failing parts are listed under
"degraded", for the load balancer and ops scripts alike."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from parkme.replicas import replica_statuses


class _Degraded(Exception):
    """A check that failed in part and still has detail to report."""

    def __init__(self, message: str, detail: dict) -> None:
        super().__init__(message)
        self.detail = detail


def _timed(check: Callable[[], dict | None]) -> dict:
    started = time.perf_counter()
    try:
        extra = check() or {}
        result = {"ok": True, **extra}
    except _Degraded as exc:
        result = {"ok": False, "error": str(exc), **exc.detail}
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    # django-redis swallows errors (IGNORE_EXCEPTIONS); talk to the client for a real answer.
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):
        client.get_client(write=True).ping()
        return
    cache.set("health:ping", "1", 5)


def _check_replicas() -> dict:
    statuses = replica_statuses(refresh=True)
    detail = {status.alias: status.as_dict() for status in statuses}
    healthy = sum(1 for status in statuses if status.healthy)
    if healthy < len(statuses):
        # Reads fall back to the primary, so this degrades capacity, not correctness.
        raise _Degraded(f"{healthy} of {len(statuses)} replicas healthy", {"replicas": detail})
    return {"healthy": healthy, "total": len(statuses), "replicas": detail}


def _check_beat() -> dict:
    from parkme.monitoring import beat_heartbeat

    heartbeat = beat_heartbeat()
    detail = {"age_seconds": heartbeat["age_seconds"]}
    if heartbeat["age_seconds"] is None:
        raise _Degraded("beat has never ticked", detail)
    if not heartbeat["ok"]:
        raise _Degraded(f"beat's last tick was {heartbeat['age_seconds']:.0f} s ago", detail)
    return detail


def _check_workers() -> dict:
    from parkme.monitoring import celery_workers

    workers = celery_workers()
    detail = {"total": workers["total"], "by_queue": workers["by_queue"]}
    idle = [queue for queue, count in workers["by_queue"].items() if count == 0]
    if idle:
        raise _Degraded(f"no worker answered for {', '.join(idle)}", detail)
    return detail


def _check_broker() -> None:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS: dict[str, Callable[[], dict | None]] = {
    "database": _check_database,
    "cache": _check_cache,
}
# Reported, but a failure does not take the node out of the load balancer: reads fall back
# to the primary, the outboxes are swept again once the broker, beat or a worker is back.
READINESS_REPORTS: dict[str, Callable[[], dict | None]] = {
    "replicas": _check_replicas,
    "broker": _check_broker,
    "beat": _check_beat,
    "workers": _check_workers,
}


@require_safe
@never_cache
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "healthy"})


@require_safe
@never_cache
def readiness(request: HttpRequest) -> JsonResponse:
    checks = {name: _timed(check) for name, check in READINESS_CHECKS.items()}
    healthy = all(c["ok"] for c in checks.values())
    for name, check in READINESS_REPORTS.items():
        checks[name] = {**_timed(check), "critical": False}
    degraded = [name for name in READINESS_REPORTS if not checks[name]["ok"]]
    return JsonResponse(
        {"status": "healthy" if healthy else "unhealthy", "degraded": degraded, "checks": checks},
        status=200 if healthy else 503,
    )
