"""Base for every API view: JWT auth, authenticated by default, shared throttles."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from rest_framework.views import APIView

from parkme import cache_versions
from parkme.api import response_cache
from parkme.api.throttles import (
    PRECOUNTED,
    WindowThrottle,
    anonymous_counters,
    counting_commands,
    counts_of,
    throttle_waits,
)

# Accept values that JSON (the API's one renderer) satisfies.
_JSON_RANGES = frozenset({"*/*", "application/*", "application/json"})


class ApiView(APIView):
    """One view per operation (HackSoft style); subclasses add throttle scopes."""

    def check_throttles(self, request) -> None:
        """DRF's check, with every window throttle counted in one Redis round trip."""
        every = self.get_throttles()
        throttles = [t for t in every if isinstance(t, WindowThrottle)]
        if len(throttles) != len(every):
            super().check_throttles(request)
            return
        waits = throttle_waits(request, throttles)
        if waits:
            self.throttled(request, max(waits))


def _accepts_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    if not accept:
        return True
    return any(part.split(";", 1)[0].strip() in _JSON_RANGES for part in accept.split(","))


def _anonymous_plain_get(request: HttpRequest) -> bool:
    """A GET that DRF would answer as an anonymous caller, in JSON, through the cache."""
    return (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in request.META
        and getattr(request, "_force_auth_user", None) is None  # DRF's test client
        and getattr(request, "_force_auth_token", None) is None
        and not response_cache.bypass_asked(request)
        and "format" not in request.GET
        and _accepts_json(request)
    )


class CachedReadView(ApiView):
    """A public read whose answers the response cache keeps (parkme.api.response_cache).

    An anonymous GET whose answer this process holds a copy of is answered before DRF's
    request cycle: one Redis round trip counts it against the anonymous throttles and checks
    that the copy is still the entry Redis holds, current. Anything else (credentials,
    ``Cache-Control: no-cache``, an Accept that JSON does not satisfy, no copy, a stale copy,
    a refusal by a throttle, Redis not answering) takes the full cycle, which answers as it
    always does; throttles this request was already counted against are not counted again.
    """

    def cache_key_for(self, request: HttpRequest, **kwargs) -> str:
        """The response cache key of this request (the same in both paths)."""
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if _anonymous_plain_get(request):
            hit = self._copy_hit(request, **kwargs)
            if hit is not None:
                return hit
        return super().dispatch(request, *args, **kwargs)

    def _copy_hit(self, request: HttpRequest, **kwargs) -> HttpResponse | None:
        throttles = self.get_throttles()
        now = time.time()
        counters = anonymous_counters(request, throttles, now)
        if counters is None:
            return None
        check = response_cache.check_copy(
            self.cache_key_for(request, **kwargs), counting_commands(counters)
        )
        if check.replies is None:
            return None
        counted = list(zip(counters, counts_of(check.replies), strict=True))
        setattr(request, PRECOUNTED, {key: n for (_, key), n in counted})
        if check.response is None:
            return None
        if not all(throttle.allows(n, now) for (throttle, _), n in counted):
            cache_versions.uncount_hit()  # not served: the full cycle answers 429
            return None
        check.response["Allow"] = ", ".join(self.allowed_methods)
        return check.response
