"""OpenAPI helpers: paginated envelopes and the error format on every operation."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields", "request_id"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
                "request_id": {"type": "string", "description": "The X-Request-ID"},
            },
        }
    },
}

_DESCRIPTIONS = {
    "400": "Validation error (code validation_error, malformed_request, …).",
    "401": "Missing or invalid credentials.",
    "403": "Not allowed (permission_denied).",
    "404": "Not found, or not yours (not_found).",
    "405": "Method not allowed.",
    "409": "Conflict (no_availability, invalid_transition, vehicle_busy, …).",
    "415": "Unsupported media type: send application/json.",
    "422": "Idempotency-Key reused with another body (idempotency_key_reused).",
    "429": "Throttled; see Retry-After.",
    "503": "A dependency is unavailable; retry.",
}
_READ_CODES = ["400", "401", "404", "405", "429", "503"]
_WRITE_CODES = ["400", "401", "403", "404", "405", "409", "415", "422", "429", "503"]


def paginated(item: serializers.Serializer, name: str, **extra) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
            **extra,
        },
    )


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: document the error format everywhere."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = _READ_CODES if method in ("get", "head") else _WRITE_CODES
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": _DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result
