"""Redis-backed throttles shared by every worker: one fixed-window counter per scope and
client, one round trip (INCR + EXPIRE pipelined) per throttle per request.

DRF's stock throttles keep a list of every request time and rewrite it on each request,
which costs two round trips and grows with the rate (a gate allowed 3,600/minute would
rewrite 3,600 timestamps per request). A fixed window may let a client burst up to twice
the rate across a window boundary; for abuse protection that is an acceptable trade.

The counters use the "throttle" cache alias, which raises on Redis errors instead of
swallowing them, so a dead Redis lets requests through (fail open) with a warning in the
log rather than silently disabling the limits or failing the request.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/hour' → (100, 3600)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


class WindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.num_requests, self.duration = parse_rate(
            api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        )
        self._wait: float | None = None

    def ident_for(self, request) -> str | None:
        """Who is counted; None means this throttle does not apply to the request."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident_for(request)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        cache = caches["throttle"]
        key = cache.make_key(f"throttle:{self.scope}:{ident}:{window}")
        try:
            pipe = cache.client.get_client(write=True).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.duration + 1)
            count, _ = pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning(
                "throttle %s failing open: rate-limit store unavailable (%s)",
                self.scope,
                type(exc).__name__,
            )
            return True
        if count <= self.num_requests:
            return True
        self._wait = (window + 1) * self.duration - now
        return False

    def wait(self) -> float | None:
        return self._wait


class AnonThrottle(WindowThrottle):
    """Anonymous callers, per client IP."""

    scope = "anon"

    def ident_for(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)


class _PerUser(WindowThrottle):
    """Authenticated callers, per user (anonymous ones are the anon throttle's)."""

    def ident_for(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class UserThrottle(_PerUser):
    scope = "user"


class BookingThrottle(_PerUser):
    scope = "booking"


class BookingBurstThrottle(_PerUser):
    scope = "booking_burst"


class GateThrottle(_PerUser):
    scope = "gate"


class AuthThrottle(WindowThrottle):
    """Per client IP, whether or not the request carries credentials."""

    scope = "auth"

    def ident_for(self, request) -> str | None:
        return self.get_ident(request)
