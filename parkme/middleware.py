"""Request id: taken from X-Request-ID (when sane) or generated, echoed on every response."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from parkme.logging import request_id_var

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
