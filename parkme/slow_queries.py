"""Log every query slower than SLOW_QUERY_MS, with the request id (from the log filter).

Parameters are never logged: they can hold licence plates and e-mail addresses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from parkme.logging import request_id_var

logger = logging.getLogger("parkme.slow_queries")
_MAX_SQL_CHARS = 2000


def log_slow_query(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict
) -> Any:
    threshold_ms = getattr(settings, "SLOW_QUERY_MS", 0)
    if not threshold_ms:
        return execute(sql, params, many, context)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        if elapsed_ms >= threshold_ms:
            alias = context["connection"].alias
            logger.warning(
                "slow query: %.0f ms on %s (request %s): %s",
                elapsed_ms,
                alias,
                request_id_var.get(),
                str(sql)[:_MAX_SQL_CHARS],
                extra={"duration_ms": round(elapsed_ms, 1), "db_alias": alias},
            )


def install(*, sender: type, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """connection_created receiver: wrap each connection wrapper once."""
    if log_slow_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(log_slow_query)


def install_on_open_connections() -> None:
    """Cover connections opened before the signal was connected (they stay open in tests and
    with persistent connections)."""
    for connection in connections.all(initialized_only=True):
        if log_slow_query not in connection.execute_wrappers:
            connection.execute_wrappers.append(log_slow_query)


def connect_signal() -> None:
    connection_created.connect(install, dispatch_uid="parkme.slow_queries")
