"""`manage.py check`: the processes of this deployment must fit in PostgreSQL's connections.

Each gunicorn worker and each Celery worker process has its own pool of up to
DB_POOL_MAX_SIZE connections. When web workers × pool size + Celery processes × pool size
(times the number of app servers running that set) is more than the server allows, the
last processes to grow their pools are refused connections under load — a warning now
instead of errors at the busiest hour.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from django.conf import settings
from django.core import checks


def planned_connections() -> dict[str, int] | None:
    """What this deployment may open at most, from the same variables the processes read;
    None when Django's pool is not in use (pgbouncer pools instead)."""
    options = settings.DATABASES.get("default", {}).get("OPTIONS", {})
    pool = options.get("pool")
    if not isinstance(pool, dict):
        return None
    pool_size = int(pool.get("max_size", 1))
    web = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
    celery = int(os.environ.get("CELERY_CONCURRENCY") or 2)
    servers = settings.PARKME_APP_SERVERS
    return {
        "web_workers": web,
        "celery_processes": celery,
        "pool_size": pool_size,
        "app_servers": servers,
        "total": (web + celery) * pool_size * servers,
    }


def server_max_connections() -> dict[str, int] | None:
    """max_connections and the connections reserved for superusers; None if unreachable."""
    import psycopg

    from parkme.backups import PgTarget

    target = PgTarget.from_alias("default")
    # The configured database, or the server's maintenance database before it exists.
    for dbname in (target.dbname, "postgres"):
        try:
            with psycopg.connect(
                host=target.host or None,
                port=target.port or None,
                user=target.user or None,
                password=target.password or None,
                dbname=dbname,
                connect_timeout=3,
                autocommit=True,
            ) as conn:
                rows = conn.execute(
                    "SELECT name, setting::int FROM pg_settings "
                    "WHERE name IN ('max_connections', 'superuser_reserved_connections')"
                ).fetchall()
        except (psycopg.Error, OSError):
            continue
        return {name: value for name, value in rows}
    return None


@checks.register("parkme")
def connections_fit_the_server(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.DATABASES:
        return []
    planned = planned_connections()
    if planned is None:
        return []
    server = server_max_connections()
    if server is None:
        return []  # the database is not reachable from here: nothing to compare with
    usable = server["max_connections"] - server.get("superuser_reserved_connections", 0)
    if planned["total"] <= usable:
        return []
    return [
        checks.Warning(
            f"Up to {planned['total']} database connections: ({planned['web_workers']} web "
            f"workers + {planned['celery_processes']} Celery processes) × pool size "
            f"{planned['pool_size']} × {planned['app_servers']} app server(s), but PostgreSQL "
            f"allows {server['max_connections']} (max_connections, "
            f"{server.get('superuser_reserved_connections', 0)} reserved for superusers).",
            hint="Lower DB_POOL_MAX_SIZE, WEB_CONCURRENCY or CELERY_CONCURRENCY, raise "
            "max_connections, or put pgbouncer in front (DATABASE_POOL=pgbouncer).",
            id="parkme.W002",
        )
    ]
