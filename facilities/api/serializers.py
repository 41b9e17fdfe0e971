"""Request and response shapes of the facility endpoints (search, detail, quote)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from facilities.api.pricing_serializers import RateBoardOutput, SpotKindField
from facilities.windows import Window, default_window, window_errors
from parkme.api.fields import AwareDateTimeField, OffsetDateTimeField, PageQuery, QuerySerializer
from parkme.api.schema import NOT_FOUND, VALIDATION

_WINDOW_HELP = (
    "ISO-8601 with an offset. Give both `starts_at` and `ends_at` or neither (then the next "
    "hour from the current minute). The window must be one a booking could have: at least "
    "15 minutes and at most 30 days long, starting at most 5 minutes ago and at most 90 days "
    "ahead."
)


WINDOW_INVALID = VALIDATION.but(
    when="A time is missing, empty, not ISO-8601 or has no offset, or the window breaks the "
    "booking window rules (length, start in the past or too far ahead).",
    fields={"starts_at": ["starts_at is in the past."]},
)
FACILITY_NOT_FOUND = NOT_FOUND.but(
    when="No active facility has this id.", message="No facility with this id."
)


class WindowQuery(QuerySerializer):
    """An optional window (both ends or neither; the next hour by default), checked by the
    booking window rules, so search and detail never answer for a window nobody may book."""

    starts_at = AwareDateTimeField(required=False, help_text=_WINDOW_HELP)
    ends_at = AwareDateTimeField(required=False, help_text=_WINDOW_HELP)

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


_QUOTE_HELP = (
    "ISO-8601 with an offset. The window must be one a booking could have: at least 15 "
    "minutes and at most 30 days long, starting at most 5 minutes ago and at most 90 days "
    "ahead."
)


class QuoteQuery(WindowQuery):
    starts_at = AwareDateTimeField(help_text=_QUOTE_HELP)
    ends_at = AwareDateTimeField(help_text=_QUOTE_HELP)
    spot_kind = SpotKindField(
        required=False, help_text="The kind of spot to price; standard when not given."
    )


class SearchQuery(WindowQuery, PageQuery):
    lat = serializers.FloatField(
        required=False,
        min_value=-90,
        max_value=90,
        help_text="Latitude of the point to search around; give both `lat` and `lng` or neither.",
    )
    lng = serializers.FloatField(
        required=False,
        min_value=-180,
        max_value=180,
        help_text="Longitude of the point to search around; give both `lat` and `lng` or neither.",
    )
    radius_km = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=settings.SEARCH_MAX_RADIUS_KM,
        default=settings.SEARCH_DEFAULT_RADIUS_KM,
        help_text="Search radius around the point.",
    )
    kind = SpotKindField(
        required=False, help_text="Count only spots of this kind, and price the window for it."
    )
    sort = serializers.ChoiceField(
        choices=[("distance", "distance"), ("price", "price")],
        required=False,
        default="distance",
        help_text="`distance`: nearest first (by name without a point); `price`: cheapest "
        "first (facilities without a price last).",
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
    operator = serializers.CharField(help_text="The operator's name.")
    address = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    timezone = serializers.CharField(help_text="IANA time zone, e.g. Europe/Helsinki.")
    distance_km = serializers.FloatField(
        allow_null=True, help_text="From the point searched around; null without a point."
    )
    available_spots = serializers.IntegerField(
        help_text="Bookable spots free of live bookings for the whole window."
    )
    price = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        allow_null=True,
        help_text="What the window costs (spot kind `kind`, else standard), VAT included, by "
        "the rate board in force at its start; null when no board is in force.",
    )
    currency = serializers.CharField(allow_null=True)


class ZoneOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    total_spots = serializers.IntegerField()
    available_spots = serializers.IntegerField()


class KindAvailabilityOutput(serializers.Serializer):
    kind = SpotKindField()
    total = serializers.IntegerField(help_text="Bookable spots of the kind.")
    available = serializers.IntegerField(
        help_text="Spots of the kind a driver can book for the whole window: free spots "
        "minus `withheld`."
    )
    withheld = serializers.IntegerField(
        help_text="Free spots of the kind held back for permit holders, because a permit "
        "product's hours are in force during the window."
    )


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
    rate_board = RateBoardOutput(
        allow_null=True,
        help_text="The rate board in force at the window's start, or null when none is.",
    )
    next_rate_board = RateBoardOutput(
        allow_null=True, help_text="The board scheduled to follow it, or null."
    )
    availability = KindAvailabilityOutput(many=True)
    available_spots = serializers.IntegerField()
    window = window_output("Window")
