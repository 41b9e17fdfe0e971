"""Redis-backed throttles shared by every worker.

They use the "throttle" cache alias, which raises on Redis errors instead of swallowing
them, so that a dead Redis lets requests through (fail open) with a warning in the log
rather than silently disabling the limits or failing the request.
"""

from __future__ import annotations

import logging

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class FailOpenMixin:
    scope: str

    @property
    def cache(self):
        return caches["throttle"]

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning(
                "throttle %s failing open: rate-limit store unavailable (%s)",
                self.scope,
                type(exc).__name__,
            )
            return True


class AnonThrottle(FailOpenMixin, AnonRateThrottle):
    scope = "anon"


class UserThrottle(FailOpenMixin, UserRateThrottle):
    scope = "user"


class BookingThrottle(FailOpenMixin, UserRateThrottle):
    scope = "booking"


class BookingBurstThrottle(FailOpenMixin, UserRateThrottle):
    scope = "booking_burst"


class AuthThrottle(FailOpenMixin, AnonRateThrottle):
    """Per client IP, whether or not the request carries credentials."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GateThrottle(FailOpenMixin, UserRateThrottle):
    scope = "gate"
