"""ParkMe's own middleware: the request id (taken from X-Request-ID when sane, or generated,
and echoed on every response), bad input refused as 400, a database outage as 503, and two
cheaper stand-ins for third-party middleware (CSP header, messages) that did per-request
work most requests never use."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from functools import partial

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from parkme.logging import request_id_var
from parkme.monitoring import pool_gauges_record

logger = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
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
        if sentry_sdk.is_initialized():  # no DSN: nothing would ever read the tag
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


def _may_hold_nul(raw: str) -> bool:
    """Whether decoding ``raw`` (a query string, a Cookie header) could yield a NUL: only a
    NUL itself, its percent-encoding, or a backslash escape (cookie values) can."""
    return "\x00" in raw or "%00" in raw or "\\" in raw


def _nul_in(request: HttpRequest) -> list[str] | None:
    """None when the request carries no NUL character; otherwise the names of the query or
    form parameters whose value holds one (empty when it is in a path, name or cookie)."""
    if "\x00" in request.path:
        return []
    posted = request.method == "POST"
    if (
        not posted
        and not _may_hold_nul(request.META.get("QUERY_STRING", ""))
        and not _may_hold_nul(request.META.get("HTTP_COOKIE", ""))
    ):
        return None  # the common case, decided without parsing the query or the cookies
    found, names = False, []
    params = [request.GET, request.POST] if posted else [request.GET]
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


# --- cheaper stand-ins for two third-party middleware -------------------------------------

# What a view's @csp_update / @csp_replace / @csp / @csp_exempt leave on its response.
_CSP_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class SitePolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, the site-wide policy built once instead of per response.

    django-csp rebuilds the header string from settings on every response (39 of the 195 us
    the whole stack spent on a bare JSON answer, tests/load/stack_cost.py). When the
    response carries no per-view policy and the request used no nonce, the header is the
    site-wide policy: built once per settings object (so ``override_settings`` still takes
    effect) and reused. Any other response goes through django-csp unchanged."""

    _site: tuple[object, object, str, str] | None = None

    def _site_policies(self) -> tuple[str, str]:
        config = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        config_ro = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        site = self._site
        if site is None or site[0] is not config or site[1] is not config_ro:
            site = (config, config_ro, build_policy(), build_policy(report_only=True))
            self._site = site
        return site[2], site[3]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _CSP_PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # Django's debug pages, as django-csp leaves them
        csp, csp_ro = self._site_policies()
        for header, value, exempt, policy_name in (
            (HEADER, csp, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, csp_ro, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, policy_name, None) or {}).get("EXCLUDE_URL_PREFIXES")
            if prefixes and request.path_info.startswith(tuple(prefixes)):
                continue
            response[header] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages middleware, its storage made on first use.

    Django builds the cookie-and-session storage (and its cookie signer) for every request;
    only admin pages ever add or read a message. Here ``request._messages`` is a lazy
    object: ``messages.add_message``, ``get_messages`` and the template context processor
    make the storage when they first touch it, and a request that never did has nothing to
    store (Django's own ``update()`` would find nothing used and nothing added)."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(partial(default_storage, request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
