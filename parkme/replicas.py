"""Read replicas: which ones exist, whether each is healthy, and how far it lags.

A replica is healthy when it answers, is streaming from the primary (when the role may see
that) and lags no more than ``REPLICA_MAX_LAG_SECONDS``. Each process keeps the answer for
``REPLICA_HEALTH_CACHE_SECONDS`` so that routing a read costs no extra round trip; a replica
that fails while in use is marked down at once (``replica_mark_down``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# Lag is 0 when the replica has applied everything it received; otherwise the age of the
# last transaction it applied. clock_timestamp(): now() would be frozen at statement start.
_PROBE_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END,
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1)
"""


@dataclass(frozen=True)
class ReplicaStatus:
    alias: str
    healthy: bool
    lag_seconds: float | None
    in_recovery: bool | None
    error: str
    checked_at: float

    def as_dict(self) -> dict:
        return {
            "ok": self.healthy,
            "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
            "in_recovery": self.in_recovery,
            **({"error": self.error} if self.error else {}),
        }


_statuses: dict[str, ReplicaStatus] = {}
_lock = threading.Lock()
# A seam for tests that need to move time forward; monotonic so wall-clock jumps do not matter.
clock = time.monotonic


def replica_aliases() -> list[str]:
    """Aliases of the configured read replicas (settings.DATABASE_REPLICAS)."""
    return [alias for alias in getattr(settings, "DATABASE_REPLICAS", []) if alias in connections]


def _remember(status: ReplicaStatus) -> ReplicaStatus:
    with _lock:
        previous = _statuses.get(status.alias)
        _statuses[status.alias] = status
    if previous is None or previous.healthy != status.healthy:
        if status.healthy:
            logger.info("replica %s is healthy (lag %.3fs)", status.alias, status.lag_seconds or 0)
        else:
            logger.warning("replica %s is skipped: %s", status.alias, status.error)
    return status


def replica_probe(alias: str) -> ReplicaStatus:
    """Ask the replica itself how it is doing, and remember the answer."""
    max_lag = float(settings.REPLICA_MAX_LAG_SECONDS)
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_PROBE_SQL)
            in_recovery, lag, receiver = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "do not read from it"
        connections[alias].close()
        return _remember(
            ReplicaStatus(alias, False, None, None, f"{type(exc).__name__}: {exc}"[:300], clock())
        )
    lag = None if lag is None else max(float(lag), 0.0)
    error = ""
    if in_recovery and receiver is not None and receiver != "streaming":
        error = f"not streaming from the primary (wal receiver {receiver})"
    elif lag is None:
        error = "lag unknown: the replica has not applied any transaction yet"
    elif lag > max_lag:
        error = f"lags {lag:.1f}s, more than REPLICA_MAX_LAG_SECONDS={max_lag:g}"
    return _remember(ReplicaStatus(alias, not error, lag, in_recovery, error, clock()))


def replica_status(alias: str, *, refresh: bool = False) -> ReplicaStatus:
    """The cached status of one replica, probed again when older than the cache time."""
    cached = _statuses.get(alias)
    ttl = float(settings.REPLICA_HEALTH_CACHE_SECONDS)
    if refresh or cached is None or clock() - cached.checked_at >= ttl:
        return replica_probe(alias)
    return cached


def replica_statuses(*, refresh: bool = False) -> list[ReplicaStatus]:
    return [replica_status(alias, refresh=refresh) for alias in replica_aliases()]


def replica_mark_down(alias: str, error: str) -> None:
    """Skip a replica until the cache time has passed (it failed while in use)."""
    _remember(ReplicaStatus(alias, False, None, None, error[:300], clock()))


def replica_forget_all() -> None:
    """Drop every cached status (tests, and after changing DATABASE_REPLICAS)."""
    with _lock:
        _statuses.clear()
