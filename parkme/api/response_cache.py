"""Rendered API responses cached in Redis as bytes, valid only while the availability
versions of every facility they show are unchanged (see facilities.availability_cache)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from facilities import availability_cache


def cache_key(kind: str, params: dict) -> str:
    canonical = json.dumps(params, sort_keys=True, default=str)
    return f"resp:{kind}:{hashlib.sha1(canonical.encode()).hexdigest()}"  # noqa: S324 - a key


def cached_json(
    *,
    key: str,
    facility_ids: Callable[[], list[int]],
    build: Callable[[], dict],
    bypass: bool = False,
) -> HttpResponse:
    """Serve from cache when every listed facility's version still matches, else build.

    Versions are read *before* building: a change that lands while we build leaves an old
    version in the entry, so the next request misses instead of trusting a stale body."""
    if not bypass:
        entry = cache.get(key)
        if entry is not None:
            ids = [int(i) for i in entry["versions"]]
            # Counts the hit in the same round trip; undone below if a version moved.
            current = availability_cache.versions_and_count_hit(ids)
            if current is not None and all(
                current[int(i)] == v for i, v in entry["versions"].items()
            ):
                return _response(entry["body"], "HIT")
            if current is not None:
                availability_cache.uncount_hit()
        availability_cache.count_miss()
    catalog = availability_cache.catalog_version()
    versions = availability_cache.versions(facility_ids())
    body = JSONRenderer().render(build())
    if not bypass and catalog == availability_cache.catalog_version():
        cache.set(
            key,
            {"body": body, "versions": {str(i): v for i, v in versions.items()}},
            settings.API_CACHE_TTL_SECONDS,
        )
    return _response(body, "BYPASS" if bypass else "MISS")


def _response(body: bytes, status: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = status
    return response
