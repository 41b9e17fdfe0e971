"""Facility search, detail and quotes: public, cached by availability version."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from bookings.services import active_rate_plan, booking_window_validate
from facilities import selectors
from facilities.models import SpotKind
from facilities.pricing import window_breakdown, window_price
from parkme.api import response_cache
from parkme.api.fields import AwareDateTimeField, OffsetDateTimeField
from parkme.api.pagination import StandardPagination
from parkme.api.response_cache import cache_key, cached_json
from parkme.api.schema import paginated
from parkme.api.views import ApiView


class WindowQuery(serializers.Serializer):
    starts_at = AwareDateTimeField(required=False)
    ends_at = AwareDateTimeField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("starts_at"), attrs.get("ends_at")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"ends_at" if end is None else "starts_at": ["Give both starts_at and ends_at."]}
            )
        if start is not None and end <= start:
            raise serializers.ValidationError({"ends_at": ["ends_at must be after starts_at."]})
        if start is not None and end - start > _max_window():
            raise serializers.ValidationError({"ends_at": ["The window is too long."]})
        return attrs

    def window(self) -> selectors.Window:
        data = self.validated_data
        if data.get("starts_at") is None:
            return selectors.default_window()
        return selectors.Window(data["starts_at"], data["ends_at"])


def _max_window():
    from datetime import timedelta

    return timedelta(days=settings.PARKME_BOOKING["MAX_DAYS"])


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

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if ("lat" in attrs) != ("lng" in attrs):
            raise serializers.ValidationError(
                {"lng" if "lat" in attrs else "lat": ["Give both lat and lng."]}
            )
        return attrs


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


def _window_data(window: selectors.Window) -> dict:
    return {"starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat()}


def _search_cache_key(request) -> str:
    """Keyed by the raw query, so a hit skips even parsing; the default window (the next
    hour) moves every minute, so the minute is part of the key when no window is given."""
    items = sorted((k, v) for k, values in request.GET.lists() for v in values)
    if "starts_at" not in request.GET:
        items.append(("@minute", selectors.default_window().starts_at.isoformat()))
    return cache_key("search", items)


class FacilitySearchView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[SearchQuery],
        responses=paginated(
            FacilitySearchOutput(many=True),
            "PaginatedFacilities",
            window=inline_serializer(
                "SearchWindow",
                {"starts_at": OffsetDateTimeField(), "ends_at": OffsetDateTimeField()},
            ),
        ),
        operation_id="facilities_search",
    )
    def get(self, request):
        bypass = request.headers.get("Cache-Control", "") == "no-cache"
        key = _search_cache_key(request)
        if not bypass:
            hit = response_cache.lookup(key)
            if hit is not None:
                return hit
        query = SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        window = query.window()
        page_no, size = params["page"], params["page_size"]
        page = selectors.facility_search_page(
            lat=params.get("lat"),
            lng=params.get("lng"),
            radius_km=params["radius_km"],
            limit=size,
            offset=(page_no - 1) * size,
        )
        versions = response_cache.read_versions(page.ids)
        available = selectors.facilities_available_spots(
            facility_ids=page.ids, window=window, kind=params.get("kind")
        )
        url = request.build_absolute_uri()
        results = [
            {
                **row,
                "distance_km": None if row["distance_km"] is None else round(row["distance_km"], 3),
                "available_spots": available[row["id"]],
            }
            for row in page.rows
        ]
        data = {
            "count": page.total,
            "next": replace_query_param(url, "page", page_no + 1)
            if page_no * size < page.total
            else None,
            "previous": replace_query_param(url, "page", page_no - 1) if page_no > 1 else None,
            "results": FacilitySearchOutput(results, many=True).data,
            "window": _window_data(window),
        }
        return response_cache.store(key, data, versions, bypass=bypass)


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
    window = inline_serializer(
        "Window", {"starts_at": OffsetDateTimeField(), "ends_at": OffsetDateTimeField()}
    )


class FacilityDetailView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[WindowQuery], responses=FacilityDetailOutput, operation_id="facilities_detail"
    )
    def get(self, request, facility_id: int):
        query = WindowQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = query.window()

        def build() -> dict:
            facility = selectors.facility_get_active(facility_id=facility_id)
            by_kind = selectors.facility_availability_by_kind(facility=facility, window=window)
            by_zone = selectors.facility_zones_availability(facility=facility, window=window)
            zones = [
                {
                    "id": z.id,
                    "name": z.name,
                    "level": z.level,
                    "total_spots": by_zone.get(z.id, {}).get("total", 0),
                    "available_spots": by_zone.get(z.id, {}).get("available", 0),
                }
                for z in facility.zones.all()
            ]
            plan = facility.active_plans[0] if facility.active_plans else None
            return FacilityDetailOutput(
                {
                    **{
                        f: getattr(facility, f)
                        for f in (
                            "id",
                            "name",
                            "slug",
                            "address",
                            "latitude",
                            "longitude",
                            "timezone",
                        )
                    },
                    "operator": facility.operator,
                    "zones": zones,
                    "rate_plan": plan,
                    "availability": by_kind,
                    "available_spots": sum(k["available"] for k in by_kind),
                    "window": {"starts_at": window.starts_at, "ends_at": window.ends_at},
                }
            ).data

        key = cache_key("detail", {"id": facility_id, **_window_data(window)})
        return cached_json(
            key=key,
            facility_ids=lambda: [facility_id],
            build=build,
            bypass=request.headers.get("Cache-Control", "") == "no-cache",
        )


class QuoteQuery(serializers.Serializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()


class QuoteLineOutput(serializers.Serializer):
    starts_at = OffsetDateTimeField()
    ends_at = OffsetDateTimeField()
    started_hours = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    capped = serializers.BooleanField()


class QuoteOutput(serializers.Serializer):
    facility = serializers.IntegerField()
    starts_at = OffsetDateTimeField()
    ends_at = OffsetDateTimeField()
    currency = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    lines = QuoteLineOutput(many=True)


class FacilityQuoteView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[QuoteQuery], responses=QuoteOutput, operation_id="facilities_quote")
    def get(self, request, facility_id: int):
        from django.utils import timezone

        query = QuoteQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["starts_at"], query.validated_data["ends_at"]
        facility = selectors.facility_get_active(facility_id=facility_id)
        booking_window_validate(starts_at=start, ends_at=end, now=timezone.now())
        plan = facility.active_plans[0] if facility.active_plans else active_rate_plan(facility)
        tz = facility.tz
        args = {
            "rates": plan,
            "starts_at": start,
            "ends_at": end,
            "timezone_name": facility.timezone,
        }
        return Response(
            QuoteOutput(
                {
                    "facility": facility.id,
                    "starts_at": start.astimezone(tz),
                    "ends_at": end.astimezone(tz),
                    "currency": plan.currency,
                    "price": window_price(**args),
                    "lines": window_breakdown(**args),
                }
            ).data
        )
