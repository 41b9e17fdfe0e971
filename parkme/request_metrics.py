"""Per-view HTTP metrics for Prometheus, under the names django-prometheus gave them (the
alerts, the dashboard and ops' queries use these three series and no other of its set):

- django_http_responses_total_by_status_view_method_total{status, view, method}
- django_http_requests_latency_seconds_by_view_method{view, method}: a histogram with the
  buckets of settings.PROMETHEUS_LATENCY_BUCKETS (0.3 s, the p95 alert line, is one of them)
- django_http_requests_total_by_view_transport_method_total{view, transport, method}

One middleware, first in MIDDLEWARE, so the latency covers the whole stack (django-
prometheus timed from the end of the middleware chain). It replaced django-prometheus'
Before/After pair, which updated 17 series per request (14 of them read by nobody) from two
old-style middlewares: 38 of the 195 us the whole stack spent on a bare request
(tests/load/stack_cost.py). The labelled children are looked up once per label set and
kept, so a request costs three dictionary hits and four value updates.

``view`` is the URL pattern's name (``<unnamed view>`` when the path matched no pattern);
a method outside HTTP's standard set is counted as ``<invalid method>``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}
)
UNNAMED_VIEW = "<unnamed view>"
INVALID_METHOD = "<invalid method>"

RESPONSES = Counter(
    "django_http_responses_total_by_status_view_method",
    "Count of responses by status, view, method.",
    ["status", "view", "method"],
)
LATENCY = Histogram(
    "django_http_requests_latency_seconds_by_view_method",
    "Histogram of request processing time labelled by view (the whole middleware stack).",
    ["view", "method"],
    buckets=settings.PROMETHEUS_LATENCY_BUCKETS,
)
REQUESTS = Counter(
    "django_http_requests_total_by_view_transport_method",
    "Count of requests by view, transport, method.",
    ["view", "transport", "method"],
)

# Children per label set: prometheus_client's labels() validates and locks on every call.
_responses: dict[tuple[str, str, str], Any] = {}
_latency: dict[tuple[str, str], Any] = {}
_requests: dict[tuple[str, str, str], Any] = {}


def _child(cache: dict, metric: Any, labels: tuple[str, ...]) -> Any:
    child = cache.get(labels)
    if child is None:
        child = cache[labels] = metric.labels(*labels)
    return child


def record(*, view: str, method: str, status: int, seconds: float, transport: str | None) -> None:
    """One response: counted by status, timed, and (when a view was resolved) counted by
    transport."""
    _child(_responses, RESPONSES, (str(status), view, method)).inc()
    _child(_latency, LATENCY, (view, method)).observe(seconds)
    if transport is not None:
        _child(_requests, REQUESTS, (view, transport, method)).inc()


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        method = request.method if request.method in _METHODS else INVALID_METHOD
        match = getattr(request, "resolver_match", None)
        if match is None:
            view, transport = UNNAMED_VIEW, None
        else:
            view = match.view_name or UNNAMED_VIEW
            transport = "https" if request.is_secure() else "http"
        record(
            view=view,
            method=method or INVALID_METHOD,
            status=response.status_code,
            seconds=seconds,
            transport=transport,
        )
        return response
