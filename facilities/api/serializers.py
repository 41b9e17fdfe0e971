"""Request and response shapes of the facility endpoints (search, detail, quote)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from facilities.models import SpotKind
from facilities.windows import Window, default_window, window_errors
from parkme.api.fields import AwareDateTimeField, OffsetDateTimeField
from parkme.api.pagination import StandardPagination


class WindowQuery(serializers.Serializer):
    """An optional window (both ends or neither; the next hour by default), checked by the
    booking window rules, so search and detail never answer for a window nobody may book."""

    starts_at = AwareDateTimeField(required=False)
    ends_at = AwareDateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("starts_at"), attrs.get("ends_at")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"ends_at" if end is None else "starts_at": ["Give both starts_at and ends_at."]}
            )
        if start is not None and end is not None:
            errors = window_errors(starts_at=start, ends_at=end, now=timezone.now())
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def window(self) -> Window:
        data = self.validated_data
        if data.get("starts_at") is None:
            return default_window()
        return Window(data["starts_at"], data["ends_at"])


class QuoteQuery(WindowQuery):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()


class SearchQuery(WindowQuery):
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)
    radius_km = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=settings.SEARCH_MAX_RADIUS_KM,
        default=settings.SEARCH_DEFAULT_RADIUS_KM,
    )
    kind = serializers.ChoiceField(choices=SpotKind.choices, required=False)
    page = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=1)
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=StandardPagination.max_page_size,
        default=StandardPagination.page_size,
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if ("lat" in attrs) != ("lng" in attrs):
            raise serializers.ValidationError(
                {"lng" if "lat" in attrs else "lat": ["Give both lat and lng."]}
            )
        return attrs


def window_output(name: str) -> serializers.Serializer:
    return inline_serializer(
        name, {"starts_at": OffsetDateTimeField(), "ends_at": OffsetDateTimeField()}
    )


class FacilitySearchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    operator = serializers.CharField()
    address = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    timezone = serializers.CharField()
    distance_km = serializers.FloatField(allow_null=True)
    available_spots = serializers.IntegerField()


class ZoneOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    total_spots = serializers.IntegerField()
    available_spots = serializers.IntegerField()


class RatePlanOutput(serializers.Serializer):
    currency = serializers.CharField()
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2)
    daily_max = serializers.DecimalField(max_digits=10, decimal_places=2)
    grace_minutes = serializers.IntegerField()


class KindAvailabilityOutput(serializers.Serializer):
    kind = serializers.CharField()
    total = serializers.IntegerField()
    available = serializers.IntegerField()


class FacilityDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    operator = serializers.CharField(source="operator.name")
    address = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    timezone = serializers.CharField()
    zones = ZoneOutput(many=True)
    rate_plan = RatePlanOutput(allow_null=True)
    availability = KindAvailabilityOutput(many=True)
    available_spots = serializers.IntegerField()
    window = window_output("Window")


class QuoteLineOutput(serializers.Serializer):
    starts_at = OffsetDateTimeField()
    ends_at = OffsetDateTimeField()
    started_hours = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    capped = serializers.BooleanField()


class QuoteOutput(serializers.Serializer):
    facility = serializers.IntegerField(source="facility.id")
    starts_at = OffsetDateTimeField(source="window.starts_at")
    ends_at = OffsetDateTimeField(source="window.ends_at")
    currency = serializers.CharField(source="plan.currency")
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    lines = QuoteLineOutput(many=True)
