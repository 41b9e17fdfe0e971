"""Rendered API responses cached in Redis as bytes, valid only while the availability
versions of every facility they show (and the facility catalogue) are unchanged.

See parkme.cache_versions. Versions are read *before* the data they describe:
a change that lands while a response is built leaves an old version in the entry, so
the next request misses instead of trusting a stale body.

Each process also keeps the entries it stored or served (at most
``API_CACHE_LOCAL_BYTES`` of bodies). Every entry carries a random stamp, also stored
under its own small key with the same expiry; a hit on a local copy reads that stamp, the
versions and counts the hit in one round trip instead of two (the entry's GET, then the
versions). The copy is served only while Redis still holds that very entry (same stamp:
not expired, not cleared, not replaced by another process) and its versions are current,
which is exactly when the entry itself would be served.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer

from parkme import cache_versions


def cache_key(kind: str, params: object) -> str:
    canonical = json.dumps(params, sort_keys=True, default=str)
    return f"resp:{kind}:{hashlib.sha1(canonical.encode()).hexdigest()}"  # noqa: S324 - a key


def _stamp_key(key: str) -> str:
    return key + ":stamp"


class _LocalCopies:
    """{cache key: (body, versions, stamp)}, least recently used dropped past max bytes."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[bytes, dict[str, int], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, dict[str, int], int] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, body: bytes, versions: dict[str, int], stamp: int) -> None:
        limit = int(getattr(settings, "API_CACHE_LOCAL_BYTES", 0))
        if len(body) > limit:
            return
        with self._lock:
            self._pop(key)
            self._entries[key] = (body, versions, stamp)
            self._bytes += len(body)
            while self._bytes > limit:
                self._pop(next(iter(self._entries)))

    def drop(self, key: str) -> None:
        with self._lock:
            self._pop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _pop(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[0])


local_copies = _LocalCopies()


def _current(versions: dict[str, int], current: dict[int, int]) -> bool:
    return all(current[int(i)] == v for i, v in versions.items())


def bypass_asked(request: HttpRequest) -> bool:
    """The caller asked to skip the cache (``Cache-Control: no-cache``, exactly)."""
    return request.META.get("HTTP_CACHE_CONTROL", "") == "no-cache"


class CopyCheck(NamedTuple):
    response: HttpResponse | None  # this process's copy, current: a hit (counted)
    held: bool  # this process held a copy of the entry
    replies: list | None  # the replies of the commands ``before``; None: Redis did not answer


def check_copy(key: str, before: Sequence[tuple] = ()) -> CopyCheck:
    """Serve this process's copy of ``key`` when Redis still holds that very entry and its
    versions are current; the commands ``before`` run in the same round trip. Without a
    copy nothing is asked of Redis. A copy that did not hold is dropped and the hit it
    counted undone."""
    copy = local_copies.get(key)
    if copy is None:
        return CopyCheck(None, held=False, replies=None)
    body, versions, stamp = copy
    answer = cache_versions.versions_and_count_hit(
        [int(i) for i in versions], before=[*before, ("GET", cache.make_key(_stamp_key(key)))]
    )
    if answer is None:
        return CopyCheck(None, held=True, replies=None)
    current, (*replies, redis_stamp) = answer
    if redis_stamp is not None and int(redis_stamp) == stamp and _current(versions, current):
        return CopyCheck(_response(body, "HIT"), held=True, replies=replies)
    local_copies.drop(key)
    cache_versions.uncount_hit()
    return CopyCheck(None, held=True, replies=replies)


def lookup(key: str) -> HttpResponse | None:
    """The cached response when it is still current (counted as hit or miss)."""
    local = check_copy(key)
    if local.response is not None:
        return local.response
    if local.held and local.replies is None:  # Redis did not answer: a miss, as below
        cache_versions.count_miss()
        return None
    entry = cache.get(key)
    if entry is not None:
        # Counts the hit in the same round trip; undone below if a version moved.
        answer = cache_versions.versions_and_count_hit([int(i) for i in entry["versions"]])
        if answer is not None and _current(entry["versions"], answer[0]):
            if "stamp" in entry:
                local_copies.put(key, entry["body"], entry["versions"], entry["stamp"])
            return _response(entry["body"], "HIT")
        if answer is not None:
            cache_versions.uncount_hit()
    cache_versions.count_miss()
    return None


def read_versions(facility_ids: list[int]) -> dict[int, int]:
    """Versions to store with a response about these facilities (catalogue included)."""
    return cache_versions.versions([cache_versions.CATALOG_ID, *facility_ids])


def store(key: str, data: dict, versions: dict[int, int], *, bypass: bool) -> HttpResponse:
    body = JSONRenderer().render(data)
    if not bypass and all(v >= 0 for v in versions.values()):
        stamp = secrets.randbits(62)
        entry_versions = {str(i): v for i, v in versions.items()}
        # One round trip (django-redis pipelines set_many); an int is stored unpickled.
        cache.set_many(
            {
                key: {"body": body, "versions": entry_versions, "stamp": stamp},
                _stamp_key(key): stamp,
            },
            settings.API_CACHE_TTL_SECONDS,
        )
        local_copies.put(key, body, entry_versions, stamp)
    return _response(body, "BYPASS" if bypass else "MISS")


def cached_json(
    *,
    key: str,
    facility_ids: Callable[[], list[int]],
    build: Callable[[], dict],
    bypass: bool = False,
) -> HttpResponse:
    if not bypass:
        hit = lookup(key)
        if hit is not None:
            return hit
    versions = read_versions(facility_ids())
    return store(key, build(), versions, bypass=bypass)


def _response(body: bytes, status: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = status
    return response
