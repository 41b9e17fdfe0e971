"""One Redis round trip for the hot path: a batch of commands sent in one write, one reply
read for each.

redis-py's pool checkout (a readiness poll and observability counters on every call) and
its Pipeline bookkeeping cost more CPU than packing and parsing the commands themselves;
on a cached read they were about a third of the request. Each thread (and process) keeps
one connection of its own, made with the default cache's connection settings (server,
timeouts), outside the pool, and makes a new one when the cache settings change. A failed
call drops the connection, so a half-read reply never reaches the next caller; the next
call connects again.
"""

from __future__ import annotations

import os
import threading

from django.core.signals import setting_changed
from django_redis import get_redis_connection
from redis.connection import Connection


class _Own(threading.local):
    connection: Connection | None = None
    made_for: tuple[int, int] = (0, 0)  # (process id, settings generation)


_own = _Own()
_generation = 0


def _settings_changed(*, setting: str, **kwargs: object) -> None:
    global _generation
    if setting == "CACHES":
        _generation += 1


setting_changed.connect(_settings_changed)


def roundtrip(commands: list[tuple]) -> list:
    """The replies of ``commands`` (tuples like ``("INCR", key)``), in order. Raises what
    redis-py raises (RedisError, OSError) when Redis cannot answer or refuses one."""
    wanted = (os.getpid(), _generation)
    if _own.connection is None or _own.made_for != wanted:
        if _own.connection is not None:
            _own.connection.disconnect()
        pool = get_redis_connection("default", write=True).connection_pool
        # Built from the pool's settings, not taken from it: it never counts against the
        # pool's connections nor goes back to it.
        _own.connection = pool.connection_class(**pool.connection_kwargs)
        _own.made_for = wanted
    connection = _own.connection
    try:
        connection.send_packed_command(connection.pack_commands(commands))
        return [connection.read_response() for _ in commands]
    except BaseException:
        connection.disconnect()
        raise
