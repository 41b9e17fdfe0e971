"""Facility search and detail: public, cached by availability version.

They live with bookings because what they show, free spots in a window, is derived from
bookings (bookings.availability); facilities know nothing of bookings.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from bookings import selectors
from facilities.api.serializers import (
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
from parkme.api.schema import paginated
from parkme.api.views import ApiView


def _window_data(window: Window) -> dict[str, str]:
    return {"starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat()}


def _bypass(request: Request) -> bool:
    return request.headers.get("Cache-Control", "") == "no-cache"


def _search_cache_key(request: Request) -> str:
    """Keyed by the raw query, so a hit skips even parsing; the default window (the next
    hour) moves every minute, so the minute is part of the key when no window is given.
    The page's next/previous links are absolute URLs: the origin they were built from
    (scheme and Host) is part of the key, so one caller's Host never reaches another."""
    items = sorted((k, v) for k, values in request.GET.lists() for v in values)
    items.append(("@origin", request.build_absolute_uri("/")))
    if "starts_at" not in request.GET:
        items.append(("@minute", default_window().starts_at.isoformat()))
    return cache_key("search", items)


class FacilitySearchView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[SearchQuery],
        responses=paginated(
            FacilitySearchOutput(many=True),
            "PaginatedFacilities",
            window=window_output("SearchWindow"),
        ),
        operation_id="facilities_search",
    )
    def get(self, request: Request) -> HttpResponse:
        bypass = _bypass(request)
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
        page = facility_search_page(
            lat=params.get("lat"),
            lng=params.get("lng"),
            radius_km=params["radius_km"],
            limit=size,
            offset=(page_no - 1) * size,
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


class FacilityDetailView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[WindowQuery], responses=FacilityDetailOutput, operation_id="facilities_detail"
    )
    def get(self, request: Request, facility_id: int) -> HttpResponse:
        query = WindowQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = query.window()
        return cached_json(
            key=cache_key("detail", {"id": facility_id, **_window_data(window)}),
            facility_ids=lambda: [facility_id],
            build=lambda: (
                FacilityDetailOutput(
                    selectors.facility_detail(facility_id=facility_id, window=window)
                ).data
            ),
            bypass=_bypass(request),
        )
