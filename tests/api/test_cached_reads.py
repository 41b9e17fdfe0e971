"""Cached public reads answered before DRF's request cycle, throttles counted in one round
trip, and the token's user loaded by a query compiled once: each answers exactly as the
full cycle would."""

from __future__ import annotations

import pytest
from rest_framework.views import APIView

from parkme import cache_versions
from parkme.api import response_cache
from parkme.models import User
from tests.api.conftest import api_client_for, booking_body, tomorrow_at
from tests.api.test_errors_and_throttles import rates  # noqa: F401 - a fixture
from tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_cycles(monkeypatch):
    """How many requests entered DRF's request cycle (authentication, throttles, view)."""
    entered = []
    initial = APIView.initial

    def counting(self, request, *args, **kwargs):
        entered.append(request.path)
        return initial(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", counting)
    return entered


def _detail(garage) -> str:
    return f"/api/v1/facilities/{garage.id}/"


def test_a_cached_detail_is_answered_without_the_request_cycle_and_looks_the_same(
    api, garage, full_cycles, django_assert_num_queries
):
    first = api.get(_detail(garage))
    assert first["X-Cache"] == "MISS"
    assert len(full_cycles) == 1
    with django_assert_num_queries(0):
        fast = api.get(_detail(garage))
    assert len(full_cycles) == 1  # the copy answered before DRF
    response_cache.local_copies.clear()
    slow = api.get(_detail(garage))  # no copy here: the full cycle reads Redis's entry
    assert len(full_cycles) == 2
    for response in (fast, slow):
        assert response.status_code == 200
        assert response["X-Cache"] == "HIT"
        assert response.content == first.content
        for header in ("Content-Type", "Allow", "Content-Length"):
            assert response[header] == first[header], header


def test_search_hits_are_answered_from_the_copy_and_pages_keep_their_links(
    api, garage, full_cycles
):
    query = {"lat": 60.1699, "lng": 24.9384, "page_size": 1}
    first = api.get("/api/v1/facilities/", query)
    again = api.get("/api/v1/facilities/", query)
    assert (first["X-Cache"], again["X-Cache"]) == ("MISS", "HIT")
    assert len(full_cycles) == 1
    assert again.json() == first.json()
    other_host = api.get("/api/v1/facilities/", query, HTTP_HOST="127.0.0.1")
    assert other_host["X-Cache"] == "MISS"  # links are absolute: another origin, another entry


def test_every_anonymous_request_counts_once_against_the_throttle(
    rates,  # noqa: F811
    api,
    garage,
    django_capture_on_commit_callbacks,
):
    rates(anon="3/hour")
    assert api.get(_detail(garage))["X-Cache"] == "MISS"  # 1, full cycle
    assert api.get(_detail(garage))["X-Cache"] == "HIT"  # 2, from the copy
    garage.name = "Renamed"
    with django_capture_on_commit_callbacks(execute=True):
        garage.save()  # the copy is stale: counted on the fast path, then the full cycle
    third = api.get(_detail(garage))
    assert third.status_code == 200, third.json()  # counted once, not twice
    assert third["X-Cache"] == "MISS"
    assert third.json()["name"] == "Renamed"
    refused = api.get(_detail(garage))  # 4 > 3, though this process holds a current copy
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1


def test_a_refused_request_does_not_count_as_a_cache_hit(rates, api, garage):  # noqa: F811
    rates(anon="2/hour")
    api.get(_detail(garage))
    api.get(_detail(garage))
    hits = cache_versions.stats()["hits"]
    assert api.get(_detail(garage)).status_code == 429
    assert cache_versions.stats()["hits"] == hits


def test_a_caller_with_a_token_is_counted_as_that_user_even_when_a_copy_is_held(
    rates,  # noqa: F811
    api,
    alice,
    garage,
    full_cycles,
):
    rates(user="1/hour")
    api.get(_detail(garage))  # a copy is now held
    client = api_client_for(alice)
    assert client.get(_detail(garage))["X-Cache"] == "HIT"
    assert client.get(_detail(garage)).status_code == 429  # alice's own limit
    assert api.get(_detail(garage)).status_code == 200  # anonymous callers are not alice
    garbage = api.get(_detail(garage), HTTP_AUTHORIZATION="Bearer not-a-token")
    assert garbage.status_code == 401  # a bad token is refused, never served from the copy


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"HTTP_ACCEPT": "text/html"}, 406),
        ({"HTTP_ACCEPT": "text/html, application/json;q=0.9"}, 200),
        ({"HTTP_ACCEPT": "*/*"}, 200),
        ({"HTTP_CACHE_CONTROL": "no-cache"}, 200),
    ],
)
def test_requests_the_copy_cannot_answer_take_the_full_cycle(api, garage, headers, status):
    api.get(_detail(garage))
    r = api.get(_detail(garage), **headers)
    assert r.status_code == status
    if headers.get("HTTP_CACHE_CONTROL") == "no-cache":
        assert r["X-Cache"] == "BYPASS"


def test_a_bad_window_is_refused_even_after_good_ones_were_cached(api, garage):
    api.get(_detail(garage))
    r = api.get(_detail(garage), {"starts_at": "tomorrow"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("scope", ["user", "booking", "booking_burst"])
def test_each_of_a_bookings_throttles_still_refuses_on_its_own(
    rates,  # noqa: F811
    alice,
    garage,
    scope,
):
    rates(**{scope: "2/hour" if scope != "booking_burst" else "2/minute"})
    client = api_client_for(alice)
    codes = []
    for n in range(3):
        car = VehicleFactory(owner=alice, plate=f"TH{n}")
        body = booking_body(garage, car, tomorrow_at(1 + n * 3))
        codes.append(client.post("/api/v1/bookings/", body, format="json").status_code)
    assert codes == [201, 201, 429]


def test_a_token_of_a_deactivated_or_deleted_user_is_refused(alice):
    client = api_client_for(alice)
    assert client.get("/api/v1/me/").status_code == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)
    inactive = client.get("/api/v1/me/")
    assert inactive.status_code == 401
    User.objects.filter(pk=alice.pk).delete()
    assert client.get("/api/v1/me/").status_code == 401


def test_a_device_account_token_is_refused_on_the_driver_api(device_of, garage):
    device = device_of(garage.operator)
    r = api_client_for(device).get("/api/v1/bookings/")
    assert r.status_code == 403
