"""Request id: taken from X-Request-ID (when sane) or generated, echoed on every response."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from parkme.logging import request_id_var
from parkme.monitoring import pool_gauges_record

logger = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            self._tag_sentry(request_id)
            response = self.get_response(request)
            # While the request still holds its connection (at most once a second).
            pool_gauges_record()
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response

    @staticmethod
    def _tag_sentry(request_id: str) -> None:
        try:
            import sentry_sdk
        except ImportError:  # pragma: no cover - sentry-sdk is a base requirement
            return
        sentry_sdk.set_tag("request_id", request_id)


class DatabaseUnavailableMiddleware:
    """A request caught by a database outage or restart gets a clean 503 in the error
    format (and Retry-After) instead of a 500; the next request reconnects."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        from django.db import InterfaceError, OperationalError

        from parkme.api.errors import database_unavailable

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        return database_unavailable(exception)


class BadInputMiddleware:
    """Input no view can act on is refused here, once for every view (API, admin, health):

    - a NUL character anywhere in the path, the query string (keys or values), a form body
      (keys or values) or a cookie is a 400 before any view or query sees it (PostgreSQL
      text cannot hold one);
    - a value a view could parse but the calendar or PostgreSQL cannot hold is a 400, never
      a 500: a day past 9999-12-31 or before 0001-01-01 (OverflowError, or the ValueError
      "year 10000 is out of range" of a date hierarchy or a ``__year`` lookup), and anything
      PostgreSQL refuses as bad data (DataError: a number out of range, an invalid regular
      expression in a ``__regex`` lookup).

    The exceptions are caught in ``process_exception``, which Django also calls for an
    exception raised while a TemplateResponse renders after the view returned, so a lazily
    rendered admin page is covered too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where is not None:
            return _bad_request(request, "The request contains a NUL character.", where)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not _out_of_range(exception):
            return None
        first_line = (str(exception).splitlines() or [""])[0][:200]
        logger.warning("bad input refused: %s: %s", type(exception).__name__, first_line)
        return _bad_request(request, "A value in the request is out of range.")


# Python's own messages for a date or an integer it cannot represent (datetime, int()).
_OUT_OF_RANGE_VALUE = re.compile(r"\bout of range\b|Exceeds the limit \(\d+ digits\)")


def _out_of_range(exception: Exception) -> bool:
    from django.db import DataError

    if isinstance(exception, (OverflowError, DataError)):
        return True
    return isinstance(exception, ValueError) and bool(_OUT_OF_RANGE_VALUE.search(str(exception)))


def _nul_in(request: HttpRequest) -> list[str] | None:
    """None when the request carries no NUL character; otherwise the names of the query or
    form parameters whose value holds one (empty when it is in a path, name or cookie)."""
    if "\x00" in request.path:
        return []
    found, names = False, []
    params = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    for query in params:
        for key, values in query.lists():
            if "\x00" in key:
                found = True
            elif any("\x00" in value for value in values):
                found = True
                names.append(key)
    if any("\x00" in key + value for key, value in request.COOKIES.items()):
        found = True
    return names if found else None


def _bad_request(
    request: HttpRequest, message: str, fields: list[str] | None = None
) -> HttpResponse:
    from django.http import HttpResponseBadRequest, JsonResponse

    if request.path.startswith("/api/"):
        from parkme.api.errors import error_body

        per_field = {name: ["NUL characters are not allowed."] for name in fields or []}
        return JsonResponse(error_body("validation_error", message, per_field), status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
