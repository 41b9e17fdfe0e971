"""The OpenAPI schema says what the server does: each operation's errors, headers and links.

Views declare their operation with ``api_operation(...)``, a drf-spectacular
``extend_schema`` that also records, as vendor extensions, the errors the operation can
answer (``errors=[ErrorKind, ...]``), the extra response headers and the OpenAPI links.
The post-processing hook ``add_error_responses`` (SPECTACULAR_SETTINGS) turns those into:

- one response per error status the operation can return, and no other; its body is the
  operation's own error component, ``<Operation>Error``, whose ``code`` is an enum of that
  operation's codes (``<Operation>ErrorCode``) and whose ``fields`` maps each input name to
  a list of messages (``ErrorFields``), with one example per code;
- the response headers the server sends: ``X-Request-ID`` on every response,
  ``WWW-Authenticate`` on 401, ``Retry-After`` on 429 and 503, and whatever the operation
  declares (``X-Cache``, ``Idempotent-Replayed``);
- links from a created resource to the operations that take its id.

It also rewrites drf-spectacular's nullable references (``allOf: [$ref]`` + ``nullable``,
which OAS 3.0.3 validators read as "never null") into ``oneOf: [$ref, NullEnum]``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    get_default_password_validators,
)
from drf_spectacular.drainage import warn
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from parkme.errors import ParkMeError

_ERRORS_KEY = "x-parkme-errors"
_HEADERS_KEY = "x-parkme-headers"
_LINKS_KEY = "x-parkme-links"
_NULL = {"$ref": "#/components/schemas/NullEnum"}

# --- errors -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ErrorKind:
    """One error an operation can answer: its status and stable ``code``, when it happens
    (for API users), and an example ``message`` and ``fields``."""

    status: int
    code: str
    when: str
    message: str
    fields: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)

    def but(self, **changes: Any) -> ErrorKind:
        return dataclasses.replace(self, **changes)


def domain_error(
    error: type[ParkMeError],
    when: str,
    *,
    message: str | None = None,
    fields: Mapping[str, list[str]] | None = None,
) -> ErrorKind:
    """The ErrorKind of a domain exception (parkme.errors): status and code come from it."""
    return ErrorKind(
        error.status_code, error.code, when, message or error.default_message, fields or {}
    )


VALIDATION = ErrorKind(
    400,
    "validation_error",
    "The input breaks a rule: `fields` names each input and what is wrong with it "
    "(`non_field_errors` for the request as a whole).",
    "Some fields are not valid.",
    {"field": ["What is wrong with it."]},
)
# Refused before any view, on every operation (parkme.middleware.BadInputMiddleware).
BAD_INPUT = VALIDATION.but(
    when="A NUL character in the path, query or cookies, or a value out of any range the "
    "server can hold.",
    message="The request contains a NUL character.",
    fields={},
)
BAD_HOST = ErrorKind(
    400,
    "bad_request",
    "Refused before reaching the API: a `Host` the server does not serve, or a body over "
    "the size limit (2.5 MB).",
    "Bad request.",
)
MALFORMED = ErrorKind(
    400,
    "malformed_request",
    "The body is not valid JSON.",
    "JSON parse error - Expecting value: line 1 column 1 (char 0)",
)
NOT_AUTHENTICATED = ErrorKind(
    401,
    "not_authenticated",
    "No `Authorization: Bearer <access>` header was sent.",
    "Authentication credentials were not provided.",
)
AUTHENTICATION_FAILED = ErrorKind(
    401,
    "authentication_failed",
    "The bearer token is malformed, expired, revoked or not an access token.",
    "Given token not valid for any token type",
)
DEVICE_REFUSED = ErrorKind(
    403,
    "permission_denied",
    "The account is a gate device; devices may only post gate events.",
    "Gate-device accounts may only use the operator gate API.",
)
NOT_FOUND = ErrorKind(404, "not_found", "No such object among yours.", "Not found.")
NOT_ACCEPTABLE = ErrorKind(
    406,
    "not_acceptable",
    "The `Accept` header rules out `application/json`.",
    "Could not satisfy the request Accept header.",
)
UNSUPPORTED_MEDIA_TYPE = ErrorKind(
    415,
    "unsupported_media_type",
    "A body was sent with another `Content-Type` than `application/json`.",
    'Unsupported media type "text/plain" in request.',
)
THROTTLED = ErrorKind(
    429,
    "throttled",
    "Over a rate limit: wait `Retry-After` seconds.",
    "Too many requests. Retry in 42 seconds.",
)
UNAVAILABLE = ErrorKind(
    503,
    "service_unavailable",
    "The database is unavailable (a restart, say): retry after `Retry-After` seconds.",
    "The database is unavailable. Please retry.",
)

# Every operation can answer these.
ALWAYS = (BAD_INPUT, BAD_HOST, NOT_ACCEPTABLE, THROTTLED, UNAVAILABLE)
# Operations for signed-in drivers (and staff); gate devices are refused.
DRIVER = (NOT_AUTHENTICATED, AUTHENTICATION_FAILED, DEVICE_REFUSED)
# Public operations: no account needed, but a bad token that is sent is refused.
PUBLIC = (AUTHENTICATION_FAILED,)
# Operations that read a JSON body.
JSON_BODY = (MALFORMED, UNSUPPORTED_MEDIA_TYPE)

_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable",
    429: "Too many requests",
    503: "Service unavailable",
}

ERROR_FIELDS_SCHEMA = {
    "type": "object",
    "description": "Each input name (a body field, query parameter or header) mapped to its "
    "messages; `non_field_errors` for the request as a whole; `{}` when nothing is per field. "
    "`invalid_transition` names the booking's current state under `status`.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

# --- headers ------------------------------------------------------------------------------

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id, in the server's logs too: the `X-Request-ID` the "
        "request sent when it is 1-128 characters of `A-Z a-z 0-9 . _ : -`, otherwise a new "
        "one (32 hex digits). Quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
    },
    "WWW-Authenticate": {
        "description": "The authentication scheme to use.",
        "required": True,
        "schema": {"type": "string", "example": 'Bearer realm="api"'},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "X-Cache": {
        "description": "Whether the response came from the response cache (`HIT`), was built "
        "and cached (`MISS`) or was built because the request said `Cache-Control: no-cache` "
        "(`BYPASS`).",
        "required": True,
        "schema": {"type": "string", "enum": ["HIT", "MISS", "BYPASS"]},
    },
    "Idempotent-Replayed": {
        "description": "Present (`true`) when this answer created nothing: it is the booking "
        "an earlier request with the same `Idempotency-Key` and body created, as it is now.",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_ERROR_HEADERS = {401: ["WWW-Authenticate"], 429: ["Retry-After"], 503: ["Retry-After"]}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


# --- declaring an operation ---------------------------------------------------------------


def api_operation(
    *,
    operation_id: str,
    summary: str,
    description: str,
    tags: Sequence[str],
    errors: Iterable[ErrorKind],
    headers: Mapping[int, Sequence[str]] | None = None,
    links: Mapping[int, Mapping[str, Mapping[str, Any]]] | None = None,
    **kwargs: Any,
):
    """``extend_schema`` for one operation, with the errors it can answer (ALWAYS is
    added), the extra headers per success status (names in HEADERS) and OpenAPI links per
    status. Everything else (request, responses, parameters, examples) is extend_schema's."""
    kinds = [*errors, *ALWAYS]
    extensions: dict[str, Any] = {
        _ERRORS_KEY: [dataclasses.asdict(kind) for kind in kinds],
    }
    if headers:
        extensions[_HEADERS_KEY] = {str(status): list(names) for status, names in headers.items()}
    if links:
        extensions[_LINKS_KEY] = {str(status): dict(found) for status, found in links.items()}
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        tags=list(tags),
        extensions=extensions,
        **kwargs,
    )


def paginated(item: serializers.Serializer, name: str, **extra) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(help_text="Items in all pages."),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(
                allow_null=True, help_text="The previous page, or null."
            ),
            "results": item,
            **extra,
        },
    )


_ENUMS: dict[str, dict[str, Any]] = {}


def enum_ref(name: str, choices: Sequence[tuple[str, str]]) -> dict[str, str]:
    """A reference to the enum component ``name`` (added by the hook if drf-spectacular did
    not make it): for a choice field whose name other fields share with other choices (a
    spot's ``kind`` and a vehicle's ``kind``), which drf-spectacular cannot name itself."""
    _ENUMS[name] = {
        "enum": [value for value, _ in choices],
        "type": "string",
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices),
    }
    return {"$ref": f"#/components/schemas/{name}"}


def password_min_length() -> int:
    """The shortest password Django's configured validators accept."""
    lengths = [
        validator.min_length
        for validator in get_default_password_validators()
        if isinstance(validator, MinimumLengthValidator)
    ]
    return max(lengths, default=1)


def password_field_schema() -> dict[str, Any]:
    """A new password's schema besides its lengths (which come from the field): not all
    digits. Django's other validators (similarity to the e-mail, common passwords) cannot
    be put in a schema."""
    return {"type": "string", "format": "password", "pattern": r"\D"}


# --- the post-processing hook -------------------------------------------------------------


_API_DESCRIPTION = """

Sign in with `auth/token/` and send `Authorization: Bearer <access>`; search, detail and
quote are public. Bodies are JSON objects of exactly the documented fields, with their JSON
types (no coercion); an empty query parameter is refused, not ignored. Every error is
`{"error": {"code", "message", "fields", "request_id"}}`, with the codes each operation
lists, and every response carries `X-Request-ID`. The full contract, with the booking rules
and states, is docs/api.md in the ParkMe repository."""


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook (the last one): errors, headers, links, nulls."""
    info = result.setdefault("info", {})
    info["description"] = str(info.get("description", "")) + _API_DESCRIPTION
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("Error", None)
    schemas["ErrorFields"] = copy.deepcopy(ERROR_FIELDS_SCHEMA)
    schemas.setdefault("NullEnum", {"enum": [None]})
    for name, enum in _ENUMS.items():
        schemas.setdefault(name, copy.deepcopy(enum))
    components["headers"] = copy.deepcopy(HEADERS)
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _document_operation(path, method, operation, schemas)
    _rewrite_nullable_refs(result)
    return result


def _document_operation(path: str, method: str, operation: dict, schemas: dict) -> None:
    kinds = operation.pop(_ERRORS_KEY, None)
    extra_headers = operation.pop(_HEADERS_KEY, {})
    links = operation.pop(_LINKS_KEY, {})
    if kinds is None:
        warn(f"{method.upper()} {path} declares no errors: use parkme.api.schema.api_operation")
        kinds = [dataclasses.asdict(kind) for kind in ALWAYS]
    if {} in operation.get("security", []):
        # Public (the token is optional): say "no auth needed" outright, which client
        # generators understand, instead of drf-spectacular's [{jwtAuth: []}, {}], which
        # openapi-python-client turns into "a token is required". A token may still be sent
        # (a bad one is a 401, documented on the operation).
        operation["security"] = []
    name = "".join(word[:1].upper() + word[1:] for word in operation["operationId"].split("_"))
    responses = operation["responses"]
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = _header_ref("X-Request-ID")
        for header in extra_headers.get(status, []):
            headers[header] = _header_ref(header)
        if status in links:
            response["links"] = copy.deepcopy(links[status])
    by_status: dict[int, dict[str, dict]] = {}
    for kind in kinds:
        by_status.setdefault(kind["status"], {}).setdefault(kind["code"], kind)
    codes = sorted({code for found in by_status.values() for code in found})
    schemas[f"{name}ErrorCode"] = {
        "type": "string",
        "enum": codes,
        "description": f"The error codes `{operation['operationId']}` can answer.",
    }
    schemas[f"{name}ErrorDetail"] = {
        "type": "object",
        "required": ["code", "message", "fields", "request_id"],
        "properties": {
            "code": {"$ref": f"#/components/schemas/{name}ErrorCode"},
            "message": {"type": "string", "description": "For people; may change."},
            "fields": {"$ref": "#/components/schemas/ErrorFields"},
            "request_id": {
                "type": "string",
                "description": "The response's `X-Request-ID`; quote it to support.",
            },
        },
    }
    schemas[f"{name}Error"] = {
        "type": "object",
        "description": f"An error of `{operation['operationId']}`.",
        "required": ["error"],
        "properties": {"error": {"$ref": f"#/components/schemas/{name}ErrorDetail"}},
    }
    ref = {"$ref": f"#/components/schemas/{name}Error"}
    for status in sorted(by_status):
        found = by_status[status]
        lines = "\n".join(f"- `{code}`: {kind['when']}" for code, kind in found.items())
        headers = {"X-Request-ID": _header_ref("X-Request-ID")}
        for header in _ERROR_HEADERS.get(status, []):
            headers[header] = _header_ref(header)
        responses[str(status)] = {
            "description": f"{_STATUS_TITLES.get(status, 'Error')}.\n\n{lines}",
            "headers": headers,
            "content": {
                "application/json": {
                    "schema": ref,
                    "examples": {
                        code: {
                            "summary": code,
                            "value": {
                                "error": {
                                    "code": code,
                                    "message": kind["message"],
                                    "fields": kind["fields"],
                                    "request_id": "6f1c2e0b9a8d4c7e8f1a2b3c4d5e6f70",
                                }
                            },
                        }
                        for code, kind in found.items()
                    },
                }
            },
        }


def _rewrite_nullable_refs(node: Any) -> None:
    """``{allOf: [{$ref}], nullable: true, …}`` → ``{oneOf: [{$ref}, NullEnum], …}``.

    In OAS 3.0.3 ``nullable`` only adds null to a ``type`` in the same schema object, so
    the first form never admits null; the second does, in 3.0 validators and client
    generators alike."""
    if isinstance(node, list):
        for item in node:
            _rewrite_nullable_refs(item)
        return
    if not isinstance(node, dict):
        return
    all_of = node.get("allOf")
    if (
        node.get("nullable") is True
        and "type" not in node
        and isinstance(all_of, list)
        and len(all_of) == 1
        and "$ref" in all_of[0]
    ):
        del node["nullable"]
        node["oneOf"] = [node.pop("allOf")[0], dict(_NULL)]
    elif node.get("nullable") is True and "type" not in node and _NULL in node.get("oneOf", []):
        del node["nullable"]
    for value in node.values():
        _rewrite_nullable_refs(value)
