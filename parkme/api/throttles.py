"""Redis-backed throttles shared by every worker: one fixed-window counter per scope and
client, and one round trip per request for all of a view's throttles (their INCR + EXPIRE
pipelined together, see ``ApiView.check_throttles``).

DRF's stock throttles keep a list of every request time and rewrite it on each request,
which costs two round trips and grows with the rate (a gate allowed 3,600/minute would
rewrite 3,600 timestamps per request). A fixed window may let a client burst up to twice
the rate across a window boundary; for abuse protection that is an acceptable trade.

The counters' keys are the "throttle" cache alias's; they are counted through
``parkme.redis_roundtrip``, which raises on Redis errors instead of swallowing them, so a
dead Redis lets requests through (fail open) with a warning in the log rather than
silently disabling the limits or failing the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from django.core.cache import caches
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from parkme.redis_roundtrip import roundtrip

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
            str(api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        )
        self._wait: float | None = None

    def ident_for(self, request) -> str | None:
        """Who is counted; None means this throttle does not apply to the request."""
        raise NotImplementedError

    def counter_key(self, request, now: float) -> str | None:
        """The Redis key (prefixed) of this request's counter in the current window; None
        when this throttle does not apply to the request."""
        ident = self.ident_for(request)
        if ident is None:
            return None
        window = int(now // self.duration)
        return caches["throttle"].make_key(f"throttle:{self.scope}:{ident}:{window}")

    def allows(self, count: int, now: float) -> bool:
        """Whether the request that brought the counter to ``count`` is let through."""
        if count <= self.num_requests:
            return True
        self._wait = (int(now // self.duration) + 1) * self.duration - now
        return False

    def allow_request(self, request, view) -> bool:
        return not throttle_waits(request, [self])

    def wait(self) -> float | None:
        return self._wait


# Counts a request already added (by the cached-read fast path, parkme.api.views) before it
# fell through to the full request cycle: {counter key: count}. Set on the HttpRequest.
PRECOUNTED = "parkme_throttle_counts"


def counting_commands(counters: Sequence[tuple[WindowThrottle, str]]) -> list[tuple]:
    """Redis commands that count a request on each (throttle, counter key): INCR, and an
    expiry just past the window; ``counts_of`` reads their replies."""
    return [
        command
        for throttle, key in counters
        for command in (("INCR", key), ("EXPIRE", key, throttle.duration + 1))
    ]


def counts_of(replies: Sequence) -> list[int]:
    """The counters' new values, from the replies of ``counting_commands``."""
    return [int(n) for n in replies[::2]]


def throttle_waits(request, throttles: Sequence[WindowThrottle]) -> list[float]:
    """Count the request against every throttle that applies, in one round trip, and
    return the waits of those that refuse it (empty: allowed). A dead Redis lets it
    through (fail open) with a warning."""
    now = time.time()
    keyed = [(t, key) for t in throttles if (key := t.counter_key(request, now)) is not None]
    if not keyed:
        return []
    counts: dict[str, int] = dict(getattr(request, PRECOUNTED, None) or {})
    todo = [(t, key) for t, key in keyed if key not in counts]
    if todo:
        try:
            replies = roundtrip(counting_commands(todo))
        except (RedisError, OSError) as exc:
            logger.warning(
                "throttles %s failing open: rate-limit store unavailable (%s)",
                ",".join(t.scope for t, _ in keyed),
                type(exc).__name__,
            )
            return []
        counts.update(zip([key for _, key in todo], counts_of(replies), strict=True))
    return [t.wait() or 0.0 for t, key in keyed if not t.allows(counts[key], now)]


def anonymous_counters(
    request: HttpRequest, throttles: Sequence[BaseThrottle], now: float
) -> list[tuple[WindowThrottle, str]] | None:
    """(throttle, counter key) of every throttle that counts this request as an anonymous
    caller's; None when one of them is not a window throttle (it cannot be pipelined)."""
    anonymous = _Anonymous(request)
    counters = []
    for throttle in throttles:
        if not isinstance(throttle, WindowThrottle):
            return None
        key = throttle.counter_key(anonymous, now)
        if key is not None:
            counters.append((throttle, key))
    return counters


class _Anonymous:
    """A plain HttpRequest seen as DRF sees a request without credentials."""

    user = None

    def __init__(self, request: HttpRequest) -> None:
        self.META = request.META
        self.headers = _ForwardedFor(request.META)  # all get_ident reads of the headers


class _ForwardedFor:
    def __init__(self, meta: dict) -> None:
        self._value = meta.get("HTTP_X_FORWARDED_FOR")

    def get(self, name: str, default: str | None = None) -> str | None:
        if name.lower() != "x-forwarded-for":
            raise KeyError(name)  # DRF's get_ident changed: read request.headers again
        return self._value if self._value is not None else default


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
