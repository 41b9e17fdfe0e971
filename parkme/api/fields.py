"""Serializer building blocks shared by every API.

The API is strict about what it accepts, and the OpenAPI schema says so: a value of the
wrong JSON type is refused instead of being coerced (``0`` is not ``false``, ``0`` is not a
plate), an unknown body key is refused (``additionalProperties: false``), and a query
parameter given empty (``?starts_at=``) is refused instead of being read as absent.
"""

from __future__ import annotations

import copy
from typing import Any

from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.fields import empty

from parkme.api.pagination import StandardPagination

BLANK = "This field may not be blank."


class AwareDateTimeField(serializers.DateTimeField):
    """ISO-8601 with an explicit offset; a naive datetime is refused, never guessed."""

    default_error_messages = {
        "naive": "Give the time zone offset (for example 2026-05-01T09:00:00+03:00 or …Z).",
        "blank": BLANK,
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            text = value.strip()
            if not text:
                self.fail("blank")
            has_offset = text.endswith(("Z", "z")) or (
                len(text) > 19 and text[19:].lstrip(".0123456789")[:1] in ("+", "-")
            )
            if not has_offset:
                self.fail("naive")
        return super().to_internal_value(value)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: ``0``, ``1``, ``"true"`` or ``"yes"`` are refused
    instead of being read as booleans."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid")
        raise AssertionError  # pragma: no cover - fail() raises


class StrictCharField(serializers.CharField):
    """A JSON string only: a number is refused instead of being turned into text (DRF's
    CharField would store ``0`` as ``"0"``)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    """An e-mail address, given as a JSON string."""


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: ``"7"``, ``7.0`` and ``true`` are refused instead of being
    read as 7 (or 1)."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class OutputSerializer(serializers.Serializer):
    """A serializer that only renders. DRF deep-copies every declared field for each
    instance, which re-runs each field's ``__init__``: rendering a booking spent most of its
    time there. A field declared on the class is never bound itself, so a shallow copy of it
    is just as pristine, and ``bind()`` gives the copy its own name, parent and source.
    Nested serializers keep DRF's deep copy (they build their own fields when used)."""

    def get_fields(self):
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else _shallow_copy(field)
            for name, field in self._declared_fields.items()
        }


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know instead of silently ignoring them. Its OpenAPI
    component says so with ``additionalProperties: false`` (StrictSerializerSchema)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """drf-spectacular: every StrictSerializer body is ``additionalProperties: false``."""

    target_class = StrictSerializer
    match_subclasses = True
    priority = 1  # above simplejwt's own extensions, which TokenInput and RefreshInput extend

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        serializer = self.target if isinstance(self.target, type) else type(self.target)
        if "__doc__" not in vars(serializer) or not serializer.__doc__:
            schema.pop("description", None)  # not StrictSerializer's own docstring
        return schema


def query_data(params: QueryDict, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A query string as a plain dict: the last value of each parameter (every value, as a
    list, for the names in ``lists``)."""
    data: dict[str, Any] = {}
    for key, values in params.lists():
        data[key] = list(values) if key in lists else values[-1]
    return data


class QuerySerializer(serializers.Serializer):
    """Query parameters. Given a QueryDict (``request.query_params``), it reads them as a
    plain dict, so an empty value (``?starts_at=``) is a value like any other and refused
    unless the field allows it: DRF would read it as "not given" and silently apply the
    default."""

    def __init__(self, instance=None, data=empty, **kwargs):
        if isinstance(data, QueryDict):
            lists = tuple(
                name
                for name, field in self._declared_fields.items()
                if isinstance(field, (serializers.MultipleChoiceField, serializers.ListField))
            )
            data = query_data(data, lists=lists)
        super().__init__(instance, data, **kwargs)


class PageQuery(QuerySerializer):
    """``?page=`` and ``?page_size=`` of a paginated list, checked rather than clamped."""

    page = serializers.IntegerField(
        required=False, min_value=1, max_value=10_000, default=1, help_text="Page number, from 1."
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=StandardPagination.max_page_size,
        default=StandardPagination.page_size,
        help_text="Items per page.",
    )


class OffsetDateTimeField(serializers.DateTimeField):
    """Renders an aware datetime with its own offset (a facility's local time), not UTC."""

    def to_representation(self, value):
        if value is None:
            return None
        if getattr(value, "tzinfo", None) is not None:
            return value.isoformat()
        return super().to_representation(value)
