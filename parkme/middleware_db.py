"""Per-request database set-up: replica reads, read-your-writes pinning per client, and the
slow-query log on every connection the request may use.

A request reads from a replica unless it changes state (unsafe method) or its client wrote
within ``REPLICA_PIN_SECONDS``. A client is recognised by a cookie (browsers, the admin)
and, for API clients that keep no cookies, by its Authorization header (hashed, in Redis).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from parkme import slow_queries
from parkme.db_router import replica_reads
from parkme.replicas import replica_aliases

PIN_COOKIE = "parkme_db_pin"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _pin_key(authorization: str) -> str:
    return "dbpin:" + hashlib.sha256(authorization.encode()).hexdigest()[:40]


def client_is_pinned(request: HttpRequest) -> bool:
    if request.COOKIES.get(PIN_COOKIE):
        return True
    authorization = request.headers.get("Authorization", "")
    return bool(authorization) and bool(cache.get(_pin_key(authorization)))


def client_pin(request: HttpRequest, response: HttpResponse) -> None:
    seconds = int(settings.REPLICA_PIN_SECONDS)
    if seconds <= 0:
        return
    response.set_cookie(
        PIN_COOKIE,
        "1",
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    authorization = request.headers.get("Authorization", "")
    if authorization:
        cache.set(_pin_key(authorization), 1, seconds)


class DatabaseRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        slow_queries.install_on_open_connections()
        if not replica_aliases():
            return self.get_response(request)
        pinned = request.method not in _SAFE_METHODS or client_is_pinned(request)
        with replica_reads(pinned=pinned) as scope:
            response = self.get_response(request)
        if scope.wrote:
            client_pin(request, response)
        return response
