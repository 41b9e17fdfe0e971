"""Serializer building blocks shared by every API."""

from __future__ import annotations

from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """ISO-8601 with an explicit offset; a naive datetime is refused, never guessed."""

    default_error_messages = {
        "naive": "Give the time zone offset (for example 2026-05-01T09:00:00+03:00 or …Z).",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            text = value.strip()
            has_offset = text.endswith(("Z", "z")) or (
                len(text) > 19 and text[19:].lstrip(".0123456789")[:1] in ("+", "-")
            )
            if not has_offset:
                self.fail("naive")
        return super().to_internal_value(value)


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know instead of silently ignoring them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class OffsetDateTimeField(serializers.DateTimeField):
    """Renders an aware datetime with its own offset (a facility's local time), not UTC."""

    def to_representation(self, value):
        if value is None:
            return None
        if getattr(value, "tzinfo", None) is not None:
            return value.isoformat()
        return super().to_representation(value)
