"""One exception handler: every API error as {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from parkme.errors import ParkMeError
from parkme.logging import request_id_var

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    """The error format; ``request_id`` is the request's X-Request-ID, so a client can quote
    it to support and it finds the logs and the Sentry event."""
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": fields or {},
            "request_id": request_id_var.get(),
        }
    }


def database_unavailable(exc: Exception) -> JsonResponse:
    """The clean 503 of a request caught by a database outage or restart (API or not);
    the next request reconnects."""
    logger.warning("database unavailable: %s", type(exc).__name__)
    response = JsonResponse(
        error_body("service_unavailable", "The database is unavailable. Please retry."),
        status=503,
    )
    response["Retry-After"] = "5"
    return response


def _flatten(detail) -> object:
    """DRF ErrorDetail trees → plain lists of strings, keyed like the input."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(i, (dict, list)) for i in detail):
            return [str(i) for i in detail]
        return [_flatten(i) for i in detail]
    return [str(detail)]


def _validation_response(detail) -> Response:
    fields = _flatten(detail)
    if isinstance(fields, dict):
        non_field = fields.pop("non_field_errors", None)
        message = non_field[0] if non_field else "Some fields are not valid."
        if non_field:
            fields["non_field_errors"] = non_field
    else:
        message = fields[0] if fields else "The request is not valid."
        fields = {"non_field_errors": fields}
    return Response(error_body("validation_error", str(message), fields), status=400)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ParkMeError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _validation_response(detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable(exc)  # type: ignore[return-value]
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc.detail)

    response = drf_exception_handler(exc, context)
    if response is None:
        if isinstance(exc, DatabaseError):
            logger.exception("database error")
        return None  # Django's 500 handler renders the error format
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    code = code or getattr(exc, "default_code", "error")
    detail = getattr(exc, "detail", None)
    if isinstance(detail, dict) and "detail" in detail:  # simplejwt: {"detail", "code", …}
        detail = detail["detail"]
    message = detail if isinstance(detail, str) else str(exc)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        message = f"Too many requests. Retry in {wait} seconds."
        response["Retry-After"] = str(max(wait, 1))
    response.data = error_body(code, str(message))
    return response


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(status.HTTP_400_BAD_REQUEST, "bad_request", "Bad request.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(status.HTTP_403_FORBIDDEN, "permission_denied", "Permission denied.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(status.HTTP_404_NOT_FOUND, "not_found", "Not found.")


def handler500(request: HttpRequest) -> JsonResponse:
    return _json_error(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "Something went wrong on our side."
    )


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Unknown paths under /api/ answer in the error format in every mode (Django's DEBUG
    404 page is HTML). A path that only lacks its trailing slash is redirected for GET and
    HEAD, as Django would, and named in the message otherwise (a POST cannot follow)."""
    with_slash = request.path + "/"
    if not request.path.endswith("/") and _resolves_elsewhere(with_slash):
        if request.method in ("GET", "HEAD"):
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(with_slash + (f"?{query}" if query else ""))
        return _json_error(
            status.HTTP_404_NOT_FOUND, "not_found", f"Not found. Did you mean {with_slash}?"
        )
    return _json_error(status.HTTP_404_NOT_FOUND, "not_found", "Not found.")


def _resolves_elsewhere(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_not_found
