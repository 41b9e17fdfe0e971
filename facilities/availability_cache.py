"""Per-facility availability versions for response caching.

Cached search and detail responses remember the versions of the facilities they show; any
change to a facility's bookings or spots bumps its version in `transaction.on_commit`, so
a cached response is never served after a change it does not reflect. Redis never decides
a booking: a failing Redis only means cache misses.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

CATALOG_KEY = "avail:catalog"
HITS_KEY = "avail:stats:hits"
MISSES_KEY = "avail:stats:misses"


def _key(facility_id: int) -> str:
    return f"avail:v:{facility_id}"


def versions(facility_ids: Iterable[int]) -> dict[int, int]:
    ids = list(facility_ids)
    raw = cache.get_many([_key(i) for i in ids]) if ids else {}
    return {i: int(raw.get(_key(i), 0)) for i in ids}


def catalog_version() -> int:
    return int(cache.get(CATALOG_KEY, 0) or 0)


def _incr(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing key: start it (add is atomic; a race just loses one bump)
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)


def bump_now(facility_ids: Iterable[int]) -> None:
    for facility_id in set(facility_ids):
        _incr(_key(facility_id))


def bump_on_commit(facility_ids: Iterable[int]) -> None:
    """Invalidate after the change is visible to readers, never inside the transaction."""
    ids = set(facility_ids)
    transaction.on_commit(lambda: bump_now(ids))


def bump_catalog_on_commit() -> None:
    """Facilities appeared, moved or were (de)activated: every search result may change."""
    transaction.on_commit(lambda: _incr(CATALOG_KEY))


def count_hit() -> None:
    _incr(HITS_KEY)


def count_miss() -> None:
    _incr(MISSES_KEY)


def stats() -> dict[str, int]:
    raw = cache.get_many([HITS_KEY, MISSES_KEY])
    return {"hits": int(raw.get(HITS_KEY, 0)), "misses": int(raw.get(MISSES_KEY, 0))}
