"""Search, detail and quote as a driver's app uses them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bookings.states import BookingStatus
from parkme.cache_versions import stats
from tests.api.conftest import booking_body, tomorrow_at
from tests.factories import (
    BookingFactory,
    FacilityFactory,
    RateVersionFactory,
    SpotFactory,
    ZoneFactory,
)

pytestmark = pytest.mark.django_db

HELSINKI = {"lat": 60.1699, "lng": 24.9384}


def _facility(name, lat, lng, spots=2, kind="standard", **kw):
    facility = FacilityFactory(
        name=name, slug=name.lower().replace(" ", "-"), latitude=lat, longitude=lng, **kw
    )
    RateVersionFactory(facility=facility)
    zone = ZoneFactory(facility=facility)
    for _ in range(spots):
        SpotFactory(zone=zone, kind=kind)
    return facility


def _window(start, hours=2):
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


def test_search_returns_facilities_within_the_radius_nearest_first(api):
    near = _facility("Near", 60.1700, 24.9400)
    middle = _facility("Middle", 60.1850, 24.9500)
    _facility("Espoo far", 60.2055, 24.6559)  # ~16 km away
    _facility("Closed", 60.1701, 24.9401, is_active=False)
    r = api.get("/api/v1/facilities/", {**HELSINKI, "radius_km": 5})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [f["id"] for f in results] == [near.id, middle.id]
    assert results[0]["distance_km"] < results[1]["distance_km"] < 5
    assert results[0]["available_spots"] == 2


def test_radius_defaults_to_5_km_and_is_capped_at_50(api):
    _facility("Espoo", 60.2055, 24.6559)
    assert api.get("/api/v1/facilities/", HELSINKI).json()["count"] == 0
    assert api.get("/api/v1/facilities/", {**HELSINKI, "radius_km": 20}).json()["count"] == 1
    r = api.get("/api/v1/facilities/", {**HELSINKI, "radius_km": 51})
    assert r.status_code == 400
    assert "radius_km" in r.json()["error"]["fields"]


def test_available_spots_reflect_bookings_in_the_window_and_kind(api):
    facility = _facility("Garage", 60.17, 24.94, spots=3)
    SpotFactory(zone=facility.zones.first(), kind="ev")
    start = tomorrow_at(10)
    spot = facility.spots.filter(kind="standard").first()
    BookingFactory(spot=spot, starts_at=start, ends_at=start + timedelta(hours=3))
    BookingFactory(
        spot=facility.spots.filter(kind="standard").last(),
        starts_at=start,
        status=BookingStatus.CANCELLED,
    )

    def available(**params):
        r = api.get("/api/v1/facilities/", {**HELSINKI, **params})
        return r.json()["results"][0]["available_spots"]

    assert available(**_window(start)) == 3  # 2 standard + 1 EV free
    assert available(**_window(start), kind="standard") == 2
    assert available(**_window(start), kind="ev") == 1
    # Back to back: the window starting when the booking ends sees the spot free again.
    assert available(**_window(start + timedelta(hours=3)), kind="standard") == 3


def test_spots_in_maintenance_or_inactive_are_not_available(api):
    facility = _facility("Garage", 60.17, 24.94, spots=3)
    spots = list(facility.spots.all())
    spots[0].status = "maintenance"
    spots[0].save()
    spots[1].is_active = False
    spots[1].save()
    assert api.get("/api/v1/facilities/", HELSINKI).json()["results"][0]["available_spots"] == 1


def test_search_query_count_is_constant_whatever_the_page_size(api, django_assert_max_num_queries):
    for n in range(25):
        _facility(f"F{n}", 60.17 + n * 0.0005, 24.94, spots=2)
    start = tomorrow_at(10)
    for page_size in (1, 25):
        with django_assert_max_num_queries(3):
            r = api.get(
                "/api/v1/facilities/",
                {**HELSINKI, **_window(start), "page_size": page_size},
                HTTP_CACHE_CONTROL="no-cache",
            )
        assert len(r.json()["results"]) == page_size


def test_a_new_booking_shows_in_search_at_once_despite_the_cache(
    as_user, alice, alice_car, garage, django_capture_on_commit_callbacks
):
    client = as_user(alice)
    start = tomorrow_at(10)
    params = {**HELSINKI, **_window(start), "kind": "standard"}
    first = client.get("/api/v1/facilities/", params)
    assert first["X-Cache"] == "MISS"
    assert first.json()["results"][0]["available_spots"] == 3
    again = client.get("/api/v1/facilities/", params)
    assert again["X-Cache"] == "HIT"
    assert again.json() == first.json()

    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post(
            "/api/v1/bookings/", booking_body(garage, alice_car, start), format="json"
        )
    assert booked.status_code == 201
    after = client.get("/api/v1/facilities/", params)
    assert after["X-Cache"] == "MISS"
    assert after.json()["results"][0]["available_spots"] == 2
    counted = stats()
    assert counted["hits"] >= 1
    assert counted["misses"] >= 2


def test_detail_cache_is_invalidated_when_a_spot_goes_into_maintenance(
    api, garage, django_capture_on_commit_callbacks
):
    url = f"/api/v1/facilities/{garage.id}/"
    assert api.get(url).json()["available_spots"] == 5
    assert api.get(url)["X-Cache"] == "HIT"
    spot = garage.spots.get(code="S1")
    spot.status = "maintenance"
    with django_capture_on_commit_callbacks(execute=True):
        spot.save()
    r = api.get(url)
    assert r["X-Cache"] == "MISS"
    assert r.json()["available_spots"] == 4


def test_detail_has_zones_rate_board_and_availability_per_kind(api, garage, alice_car):
    start = tomorrow_at(10)
    BookingFactory(spot=garage.spots.get(code="E1"), vehicle=alice_car, starts_at=start)
    r = api.get(f"/api/v1/facilities/{garage.id}/", _window(start))
    assert r.status_code == 200
    body = r.json()
    board = body["rate_board"]
    assert (board["currency"], board["daily_max"], board["grace_minutes"]) == ("EUR", "20.00", 15)
    assert [(b["weekday"], b["starts"], b["ends"], b["unit_price"]) for b in board["bands"]] == [
        (day, "00:00", None, "3.00") for day in range(7)
    ]
    assert board["cancellation"] == {
        "free_until_hours_before": 0,
        "fee_percent": "100.00",
        "fee_fixed": None,
    }
    assert body["next_rate_board"] is None
    assert body["zones"] == [
        {
            "id": garage.zones.get().id,
            "name": "P1",
            "level": -1,
            "total_spots": 5,
            "available_spots": 4,
        }
    ]
    assert {k["kind"]: (k["total"], k["available"]) for k in body["availability"]} == {
        "standard": (3, 3),
        "ev": (1, 0),
        "motorcycle": (1, 1),
    }


def test_detail_query_count_is_pinned(api, garage, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        r = api.get(f"/api/v1/facilities/{garage.id}/", HTTP_CACHE_CONTROL="no-cache")
    assert r.status_code == 200


def test_unknown_or_inactive_facility_detail_is_404(api, garage):
    assert api.get("/api/v1/facilities/999999/").status_code == 404
    garage.is_active = False
    garage.save()
    r = api.get(f"/api/v1/facilities/{garage.id}/")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_quote_prices_the_window_in_local_time(api, garage):
    start = tomorrow_at(8)
    r = api.get(
        f"/api/v1/facilities/{garage.id}/quote/",
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2, minutes=1)).isoformat(),
        },
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["price"] == "9.00"
    assert body["currency"] == "EUR"
    assert body["starts_at"].endswith(("+02:00", "+03:00"))  # Helsinki offset
    assert body["lines"][0]["units"] == 3
    assert sum(Decimal(line["amount"]) for line in body["lines"]) == Decimal("9.00")
    assert Decimal(body["net"]) + Decimal(body["vat"]) == Decimal("9.00")
    assert body["spot_kind"] == "standard"
    assert body["quote_token"]


def test_quote_needs_both_times_with_offsets(api, garage):
    url = f"/api/v1/facilities/{garage.id}/quote/"
    assert api.get(url).status_code == 400
    r = api.get(url, {"starts_at": "2030-01-01T10:00:00", "ends_at": "2030-01-01T12:00:00"})
    assert r.status_code == 400
    assert "starts_at" in r.json()["error"]["fields"]


def test_a_new_facility_nearby_shows_in_cached_search_at_once(
    api, django_capture_on_commit_callbacks
):
    _facility("First", 60.17, 24.94)
    assert api.get("/api/v1/facilities/", HELSINKI).json()["count"] == 1
    assert api.get("/api/v1/facilities/", HELSINKI)["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        _facility("Second", 60.171, 24.941)
    r = api.get("/api/v1/facilities/", HELSINKI)
    assert r["X-Cache"] == "MISS"
    assert r.json()["count"] == 2


def test_search_pages_link_to_each_other(api):
    for n in range(5):
        _facility(f"P{n}", 60.17 + n * 0.001, 24.94)
    first = api.get("/api/v1/facilities/", {**HELSINKI, "page_size": 2}).json()
    assert first["count"] == 5
    assert first["previous"] is None
    second = api.get(first["next"]).json()
    assert second["previous"] is not None
    last = api.get("/api/v1/facilities/", {**HELSINKI, "page_size": 2, "page": 3}).json()
    assert last["next"] is None
    seen = [f["id"] for p in (first, second, last) for f in p["results"]]
    assert len(seen) == len(set(seen)) == 5
    assert api.get("/api/v1/facilities/", {**HELSINKI, "page_size": 500}).status_code == 400


def test_a_process_local_copy_is_served_only_while_redis_holds_that_entry(
    api, garage, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    url = f"/api/v1/facilities/{garage.id}/"
    first = api.get(url)
    assert first["X-Cache"] == "MISS"
    assert api.get(url)["X-Cache"] == "HIT"  # from this process's copy, checked in Redis
    cache.clear()  # expired, evicted or flushed: the copy must not outlive the entry
    again = api.get(url)
    assert again["X-Cache"] == "MISS"
    assert again.json() == first.json()

    garage.name = "Renamed Garage"
    with django_capture_on_commit_callbacks(execute=True):
        garage.save()  # a change bumps the versions: the copy is stale as well
    renamed = api.get(url)
    assert renamed["X-Cache"] == "MISS"
    assert renamed.json()["name"] == "Renamed Garage"
    assert api.get(url)["X-Cache"] == "HIT"
