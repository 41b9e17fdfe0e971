"""Primary/replica routing with read-your-writes.

Reads go to a healthy replica only inside a routing scope (``replica_reads()``, opened for
every request by ``parkme.middleware_db.DatabaseRequestMiddleware``); everything else reads
the primary, so commands, tasks and the shell never see stale rows unless they ask for it.
Inside a scope the primary still serves:

- every write, and every read after the first write of the scope;
- every read inside a transaction (``atomic``) on the primary;
- every read of a pinned scope (a request that changes state, or a client that wrote
  within ``REPLICA_PIN_SECONDS``; see the middleware);
- every read when no replica is healthy: a client never sees an error because of a replica.

One scope sticks to one replica so a request never mixes two replicas' points in time.
Migrations run only on the primary.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections

from parkme import replicas, slow_queries

# Django imports the router (DATABASE_ROUTERS) in every process that touches the database:
# web, Celery, commands. That makes it the one place that reaches all of them.
slow_queries.connect_signal()


@dataclass
class RoutingScope:
    pinned: bool = False
    wrote: bool = False
    chosen: bool = False
    replica: str | None = None

    @property
    def uses_primary_only(self) -> bool:
        return self.pinned or self.wrote


_scope: contextvars.ContextVar[RoutingScope | None] = contextvars.ContextVar(
    "parkme_db_routing_scope", default=None
)


@contextlib.contextmanager
def replica_reads(*, pinned: bool = False) -> Iterator[RoutingScope]:
    """Let reads in this block go to a healthy replica (unless pinned to the primary)."""
    scope = RoutingScope(pinned=pinned)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> RoutingScope | None:
    return _scope.get()


def _usable(alias: str) -> bool:
    """Make sure the replica answers before the caller's query goes there, so that a dead one
    costs a fallback, never an error. A connection taken from the pool has just been checked
    (CONN_HEALTH_CHECKS); one still held from earlier is checked here."""
    connection = connections[alias]
    try:
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        with connection.cursor():
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "read from elsewhere"
        connection.close()
        replicas.replica_mark_down(alias, f"{type(exc).__name__}: {exc}")
        return False
    return True


def _choose_replica() -> str | None:
    candidates = replicas.replica_aliases()
    random.shuffle(candidates)
    for alias in candidates:
        asked_at = replicas.clock()
        status = replicas.replica_status(alias)
        if not status.healthy:
            continue
        # A status probed just now has proved the connection; an older one has not.
        if status.checked_at >= asked_at or _usable(alias):
            return alias
    return None


def read_alias(instance: object | None = None) -> str:
    scope = _scope.get()
    if scope is None or scope.uses_primary_only:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    state = getattr(instance, "_state", None)
    if state is not None and state.db == DEFAULT_DB_ALIAS:
        return DEFAULT_DB_ALIAS
    if not scope.chosen:
        scope.chosen = True
        scope.replica = _choose_replica()
    return scope.replica or DEFAULT_DB_ALIAS


def note_write() -> None:
    scope = _scope.get()
    if scope is not None:
        scope.wrote = True


class ReplicaRouter:
    def db_for_read(self, model: type, **hints: object) -> str:
        return read_alias(hints.get("instance"))

    def db_for_write(self, model: type, **hints: object) -> str:
        note_write()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: object, obj2: object, **hints: object) -> bool | None:
        same_data = {DEFAULT_DB_ALIAS, *replicas.replica_aliases()}
        if obj1._state.db in same_data and obj2._state.db in same_data:  # type: ignore[attr-defined]
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return db == DEFAULT_DB_ALIAS
