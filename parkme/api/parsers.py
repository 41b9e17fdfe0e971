"""The API's JSON parser, bounded: a body nested deeper than any ParkMe request needs is a
400 validation_error, never a RecursionError (a 500) in the parser or a serializer."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def _too_deep(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _refuse() -> ValidationError:
    return ValidationError(
        {"non_field_errors": [f"The JSON body is nested more than {MAX_DEPTH} levels deep."]}
    )


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise _refuse() from exc
        if _too_deep(data, MAX_DEPTH):
            raise _refuse()
        return data
