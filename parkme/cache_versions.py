"""Per-facility versions for response caching (what the API shows of a facility).

Cached search and detail responses remember the versions of the facilities they show; any
change to a facility's bookings or spots bumps its version in `transaction.on_commit`, so
a cached response is never served after a change it does not reflect. Redis never decides
a booking: a failing Redis only means cache misses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.core.cache import cache
from django.db import transaction
from django_redis import get_redis_connection

from parkme.redis_roundtrip import roundtrip

logger = logging.getLogger(__name__)

# The facility catalogue (which facilities exist, where, active or not) is version 0.
CATALOG_ID = 0
HITS_KEY = "avail:stats:hits"
MISSES_KEY = "avail:stats:misses"


def _key(facility_id: int) -> str:
    return f"avail:v:{facility_id}"


def _mget(keys: list[str]) -> list[int]:
    if not keys:
        return []
    try:
        raw = get_redis_connection("default", write=False).mget([cache.make_key(k) for k in keys])
    except Exception:  # noqa: BLE001 - unknown versions: callers will not cache
        return [-1] * len(keys)
    return [int(v) if v is not None else 0 for v in raw]


def versions(facility_ids: Iterable[int]) -> dict[int, int]:
    ids = list(facility_ids)
    return dict(zip(ids, _mget([_key(i) for i in ids]), strict=True))


def catalog_version() -> int:
    return _mget([_key(CATALOG_ID)])[0]


def _incr(key: str) -> None:
    """Raw Redis INCR (atomic, creates the key at 1); django-redis would pickle values."""
    try:
        get_redis_connection("default", write=True).incr(cache.make_key(key))
    except Exception:  # noqa: BLE001 - a failing Redis only costs cache hits
        logger.warning("availability cache unavailable; %s not bumped", key)


def bump_now(facility_ids: Iterable[int]) -> None:
    for facility_id in set(facility_ids):
        _incr(_key(facility_id))


def bump_on_commit(facility_ids: Iterable[int]) -> None:
    """Invalidate after the change is visible to readers, never inside the transaction."""
    ids = set(facility_ids)
    transaction.on_commit(lambda: bump_now(ids))


def bump_catalog_on_commit() -> None:
    """Facilities appeared, moved or were (de)activated: every search result may change."""
    transaction.on_commit(lambda: _incr(_key(CATALOG_ID)))


def count_hit() -> None:
    _incr(HITS_KEY)


def versions_and_count_hit(
    facility_ids: Iterable[int], *, before: Sequence[tuple] = ()
) -> tuple[dict[int, int], list] | None:
    """Current versions, with the hit counted, in one Redis round trip (hot path). The
    commands ``before`` run first in the same round trip; their replies come second. None
    when Redis cannot answer."""
    ids = list(facility_ids)
    commands = [*before, ("INCR", cache.make_key(HITS_KEY))]
    if ids:
        commands.append(("MGET", *[cache.make_key(_key(i)) for i in ids]))
    try:
        replies = roundtrip(commands)
    except Exception:  # noqa: BLE001 - a failing Redis is a cache miss, never an error
        return None
    raw = replies[-1] if ids else []
    current = {i: int(v) if v is not None else 0 for i, v in zip(ids, raw, strict=True)}
    return current, replies[: len(before)]


def uncount_hit() -> None:
    try:
        get_redis_connection("default", write=True).decr(cache.make_key(HITS_KEY))
    except Exception:  # noqa: BLE001 - stats are best effort
        return


def count_miss() -> None:
    _incr(MISSES_KEY)


def stats() -> dict[str, int]:
    try:
        client = get_redis_connection("default", write=False)
        hits, misses = client.mget([cache.make_key(HITS_KEY), cache.make_key(MISSES_KEY)])
    except Exception:  # noqa: BLE001 - stats are best effort
        return {"hits": 0, "misses": 0}
    return {"hits": int(hits or 0), "misses": int(misses or 0)}
