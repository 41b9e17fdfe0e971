"""Liveness (no I/O) and readiness (each dependency with ok and milliseconds)."""

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
        result = {"ok": False, "error": str(exc), "replicas": exc.detail}
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
        raise _Degraded(f"{healthy} of {len(statuses)} replicas healthy", detail)
    return {"healthy": healthy, "total": len(statuses), "replicas": detail}


def _check_broker() -> None:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS: dict[str, Callable[[], dict | None]] = {
    "database": _check_database,
    "cache": _check_cache,
}
# Reported, but a failure does not take the node out of the load balancer: reads fall back
# to the primary, and the notification outbox is swept again once the broker is back.
READINESS_REPORTS: dict[str, Callable[[], dict | None]] = {
    "replicas": _check_replicas,
    "broker": _check_broker,
}


@require_safe
@never_cache
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readiness(request: HttpRequest) -> JsonResponse:
    checks = {name: _timed(check) for name, check in READINESS_CHECKS.items()}
    healthy = all(c["ok"] for c in checks.values())
    for name, check in READINESS_REPORTS.items():
        checks[name] = {**_timed(check), "critical": False}
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
