"""Rendered API responses cached in Redis as bytes, valid only while the availability
versions of every facility they show (and the facility catalogue) are unchanged.

See parkme.cache_versions. Versions are read *before* the data they describe:
a change that lands while a response is built leaves an old version in the entry, so
the next request misses instead of trusting a stale body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from parkme import cache_versions


def cache_key(kind: str, params: object) -> str:
    canonical = json.dumps(params, sort_keys=True, default=str)
    return f"resp:{kind}:{hashlib.sha1(canonical.encode()).hexdigest()}"  # noqa: S324 - a key


def lookup(key: str) -> HttpResponse | None:
    """The cached response when it is still current (counted as hit or miss)."""
    entry = cache.get(key)
    if entry is not None:
        ids = [int(i) for i in entry["versions"]]
        # Counts the hit in the same round trip; undone below if a version moved.
        current = cache_versions.versions_and_count_hit(ids)
        if current is not None and all(current[int(i)] == v for i, v in entry["versions"].items()):
            return _response(entry["body"], "HIT")
        if current is not None:
            cache_versions.uncount_hit()
    cache_versions.count_miss()
    return None


def read_versions(facility_ids: list[int]) -> dict[int, int]:
    """Versions to store with a response about these facilities (catalogue included)."""
    return cache_versions.versions([cache_versions.CATALOG_ID, *facility_ids])


def store(key: str, data: dict, versions: dict[int, int], *, bypass: bool) -> HttpResponse:
    body = JSONRenderer().render(data)
    if not bypass and all(v >= 0 for v in versions.values()):
        cache.set(
            key,
            {"body": body, "versions": {str(i): v for i, v in versions.items()}},
            settings.API_CACHE_TTL_SECONDS,
        )
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
