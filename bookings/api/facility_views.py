"""Facility search and detail: public, cached by availability version.

They live with bookings because what they show, free spots in a window, is derived from
bookings (bookings.availability); facilities know nothing of bookings.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from bookings import selectors
from facilities.api.serializers import (
    FACILITY_NOT_FOUND,
    WINDOW_INVALID,
    FacilityDetailOutput,
    FacilitySearchOutput,
    SearchQuery,
    WindowQuery,
    window_output,
)
from facilities.selectors import facility_search_page
from facilities.windows import Window, default_window
from parkme.api import response_cache
from parkme.api.pagination import page_envelope
from parkme.api.response_cache import cache_key, cached_json
from parkme.api.schema import PUBLIC, VALIDATION, api_operation, paginated
from parkme.api.views import CachedReadView


def _window_data(window: Window) -> dict[str, str]:
    return {"starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat()}


def _query_cache_key(
    kind: str, request: HttpRequest | Request, *, origin: bool = False, **path: object
) -> str:
    """Keyed by the raw query (and the path's arguments), so a hit skips even parsing; the
    default window (the next hour) moves every minute, so the minute is part of the key
    when no window is given. With ``origin`` (answers holding absolute URLs, like the
    search's page links) the scheme and Host are part of the key, so one caller's Host
    never reaches another."""
    items: list[tuple[str, object]] = sorted(
        (k, v) for k, values in request.GET.lists() for v in values
    )
    if origin:
        items.append(("@origin", request.build_absolute_uri("/")))
    items.extend((f"@{name}", value) for name, value in sorted(path.items()))
    if "starts_at" not in request.GET:
        items.append(("@minute", default_window().starts_at.isoformat()))
    return cache_key(kind, items)


_CACHE_CONTROL = OpenApiParameter(
    "Cache-Control",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="`no-cache` (exactly) skips the response cache and reads the database; "
    "any other value is ignored.",
)
_FACILITY = {
    "id": 1,
    "name": "Kamppi",
    "slug": "kamppi",
    "operator": "Central Parking",
    "address": "Urho Kekkosen katu 1, Helsinki",
    "latitude": 60.169,
    "longitude": 24.932,
    "timezone": "Europe/Helsinki",
}
_WINDOW = {"starts_at": "2026-05-01T06:00:00+00:00", "ends_at": "2026-05-01T09:00:00+00:00"}


class FacilitySearchView(CachedReadView):
    permission_classes = [AllowAny]

    def cache_key_for(self, request: HttpRequest, **kwargs) -> str:
        return _query_cache_key("search", request, origin=True)

    @api_operation(
        operation_id="facilities_search",
        tags=["facilities"],
        summary="Search facilities with free spots",
        description="With `lat` and `lng`: the active facilities within `radius_km`, nearest "
        "first, with `distance_km`. Without a point: every active facility by name "
        "(`distance_km` null). `available_spots` counts bookable spots (of `kind`, if given) "
        "free for the whole window; `window` is the window used, in UTC. A page past the "
        "last one is empty. Public; anonymous callers are throttled per IP. Answers may "
        "come from a cache that a booking or spot change at a facility invalidates at once "
        "(see `X-Cache`).",
        parameters=[SearchQuery, _CACHE_CONTROL],
        responses={
            200: OpenApiResponse(
                paginated(
                    FacilitySearchOutput(many=True),
                    "PaginatedFacilities",
                    window=window_output("SearchWindow"),
                ),
                description="One page of facilities, and the window counted.",
            )
        },
        headers={200: ["X-Cache"]},
        links={
            200: {
                "FacilityDetail": {
                    "operationId": "facilities_detail",
                    "parameters": {
                        "facility_id": "$response.body#/results/0/id",
                        "starts_at": "$response.body#/window/starts_at",
                        "ends_at": "$response.body#/window/ends_at",
                    },
                    "description": "The first facility found, for the same window.",
                },
                "FacilityQuote": {
                    "operationId": "facilities_quote",
                    "parameters": {
                        "facility_id": "$response.body#/results/0/id",
                        "starts_at": "$response.body#/window/starts_at",
                        "ends_at": "$response.body#/window/ends_at",
                    },
                    "description": "The price of the window at the first facility found.",
                },
            }
        },
        errors=[
            *PUBLIC,
            VALIDATION.but(
                when="A parameter is empty, malformed or out of range, only one of `lat` and "
                "`lng` (or of `starts_at` and `ends_at`) is given, or the window breaks the "
                "booking window rules.",
                fields={"lng": ["Give both lat and lng."]},
            ),
        ],
        examples=[
            OpenApiExample(
                "Near Kamppi",
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [{**_FACILITY, "distance_km": 0.412, "available_spots": 37}],
                    "window": _WINDOW,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> HttpResponse:
        bypass = response_cache.bypass_asked(request)
        key = self.cache_key_for(request)
        if not bypass:
            hit = response_cache.lookup(key)
            if hit is not None:
                return hit
        query = SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        window = query.window()
        page_no, size = params["page"], params["page_size"]
        page = facility_search_page(
            lat=params.get("lat"),
            lng=params.get("lng"),
            radius_km=params["radius_km"],
            limit=size,
            offset=(page_no - 1) * size,
            window=window,
            kind=params.get("kind"),
            by_price=params.get("sort") == "price",
        )
        # Versions are read before the availability they describe (see response_cache).
        versions = response_cache.read_versions(page.ids)
        rows = selectors.facility_search_rows(page=page, window=window, kind=params.get("kind"))
        data = {
            **page_envelope(
                url=request.build_absolute_uri(),
                page=page_no,
                size=size,
                total=page.total,
                results=FacilitySearchOutput(rows, many=True).data,
            ),
            "window": _window_data(window),
        }
        return response_cache.store(key, data, versions, bypass=bypass)


class FacilityDetailView(CachedReadView):
    permission_classes = [AllowAny]

    def cache_key_for(self, request: HttpRequest, **kwargs) -> str:
        return _query_cache_key("detail", request, id=kwargs["facility_id"])

    @api_operation(
        operation_id="facilities_detail",
        tags=["facilities"],
        summary="A facility: zones, rate plan and free spots",
        description="An active facility with its zones (by level, then name), the rate plan "
        "in force at the window's start (or null) and the free spots for the window, per "
        "spot kind and per zone. `window` is the window used, in UTC. Public; anonymous "
        "callers are throttled per IP. Answers may come from a cache (see `X-Cache`).",
        parameters=[WindowQuery, _CACHE_CONTROL],
        responses={
            200: OpenApiResponse(FacilityDetailOutput, description="The facility for the window.")
        },
        headers={200: ["X-Cache"]},
        errors=[*PUBLIC, WINDOW_INVALID, FACILITY_NOT_FOUND],
        examples=[
            OpenApiExample(
                "Kamppi",
                value={
                    **_FACILITY,
                    "zones": [
                        {
                            "id": 1,
                            "name": "P1",
                            "level": -1,
                            "total_spots": 40,
                            "available_spots": 37,
                        }
                    ],
                    "rate_plan": {
                        "currency": "EUR",
                        "hourly_rate": "3.00",
                        "daily_max": "20.00",
                        "grace_minutes": 15,
                    },
                    "availability": [
                        {"kind": "standard", "total": 36, "available": 33, "withheld": 0},
                        {"kind": "ev", "total": 4, "available": 4, "withheld": 0},
                    ],
                    "available_spots": 37,
                    "window": _WINDOW,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, facility_id: int) -> HttpResponse:
        query = WindowQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = query.window()
        return cached_json(
            key=self.cache_key_for(request, facility_id=facility_id),
            facility_ids=lambda: [facility_id],
            build=lambda: (
                FacilityDetailOutput(
                    selectors.facility_detail(facility_id=facility_id, window=window)
                ).data
            ),
            bypass=response_cache.bypass_asked(request),
        )
