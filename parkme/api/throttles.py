"""Redis-backed throttles shared by every worker; a failing Redis lets requests through.

django-redis ignores cache errors (IGNORE_EXCEPTIONS), so a dead Redis yields an empty
history and the throttle fails open; the cache backend logs the error.
"""

from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle


class AnonThrottle(AnonRateThrottle):
    scope = "anon"


class UserThrottle(UserRateThrottle):
    scope = "user"


class BookingThrottle(UserRateThrottle):
    scope = "booking"


class BookingBurstThrottle(UserRateThrottle):
    scope = "booking_burst"


class AuthThrottle(AnonRateThrottle):
    """Per client IP, whether or not the request carries credentials."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GateThrottle(UserRateThrottle):
    scope = "gate"


__all__ = [
    "AnonThrottle",
    "AuthThrottle",
    "BookingBurstThrottle",
    "BookingThrottle",
    "GateThrottle",
    "ScopedRateThrottle",
    "UserThrottle",
]
