"""Rate boards through the API: prices in search (and cheapest first), quotes with their
lines, tokens and spot kinds, extension quotes, cancellation fees, and bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from facilities.models import KindAdjustment, RateVersion, SpotKind
from tests import factories
from tests.api.conftest import booking_body, tomorrow_at

pytestmark = pytest.mark.django_db
HELSINKI = {"lat": 60.17, "lng": 24.94}


def _window(start, hours=2):
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


def _garage(name, lat, rate, **board):
    facility = factories.FacilityFactory(
        name=name, slug=name.lower(), latitude=lat, longitude=24.94
    )
    factories.SpotFactory.create_batch(2, zone__facility=facility)
    factories.RateVersionFactory(facility=facility, hourly_rate=rate, **board)
    return facility


def test_search_shows_each_facilitys_price_and_sorts_cheapest_first(
    api, django_assert_max_num_queries
):
    near = _garage("Near", 60.1701, "5.00")
    mid = _garage("Mid", 60.1750, "2.00")
    factories.FacilityFactory(name="Unpriced", slug="unpriced", latitude=60.1720, longitude=24.94)
    far = _garage("Far", 60.1800, "3.00")
    start = tomorrow_at(10)

    nearest = api.get("/api/v1/facilities/", {**HELSINKI, **_window(start)}).json()
    with django_assert_max_num_queries(3):
        cheapest = api.get(
            "/api/v1/facilities/",
            {**HELSINKI, **_window(start), "sort": "price", "page_size": 2},
            HTTP_CACHE_CONTROL="no-cache",
        ).json()

    assert [(f["name"], f["price"]) for f in nearest["results"]] == [
        ("Near", "10.00"),
        ("Unpriced", None),
        ("Mid", "4.00"),
        ("Far", "6.00"),
    ]
    assert [(f["id"], f["price"]) for f in cheapest["results"]] == [
        (mid.id, "4.00"),
        (far.id, "6.00"),
    ]
    assert cheapest["count"] == 4
    assert cheapest["next"] is not None
    last = api.get(
        "/api/v1/facilities/",
        {**HELSINKI, **_window(start), "sort": "price", "page": 2, "page_size": 2},
    ).json()
    assert [f["id"] for f in last["results"]][0] == near.id
    assert last["results"][1]["price"] is None  # facilities without a board come last


def test_search_prices_the_kind_asked_for(api):
    garage = _garage("Kamppi", 60.17, "3.00")
    version = RateVersion.objects.get(facility=garage)
    KindAdjustment.objects.create(version=version, kind=SpotKind.EV, per_hour=Decimal("1.00"))
    start = tomorrow_at(10)
    standard = api.get("/api/v1/facilities/", {**HELSINKI, **_window(start)}).json()
    ev = api.get("/api/v1/facilities/", {**HELSINKI, **_window(start), "kind": "ev"}).json()
    assert standard["results"][0]["price"] == "6.00"
    assert ev["results"][0]["price"] == "8.00"  # the EV surcharge, and a fresh cache entry


def test_a_quote_for_an_ev_spot_itemises_the_surcharge(api):
    garage = _garage("Kamppi", 60.17, "3.00")
    KindAdjustment.objects.create(
        version=RateVersion.objects.get(facility=garage), kind=SpotKind.EV, per_hour=Decimal("1.00")
    )
    r = api.get(
        f"/api/v1/facilities/{garage.id}/quote/", {**_window(tomorrow_at(9)), "spot_kind": "ev"}
    )
    body = r.json()
    assert r.status_code == 200
    assert body["price"] == "8.00"
    assert [line["amount"] for line in body["lines"]] == ["6.00", "2.00"]
    assert "kind_adjustment" in body["rules"]


def test_a_booking_with_its_quote_token_keeps_the_quoted_price(api, as_user, alice, alice_car):
    garage = _garage("Kamppi", 60.17, "3.00")
    start = tomorrow_at(9)
    quote = api.get(f"/api/v1/facilities/{garage.id}/quote/", _window(start)).json()
    RateVersion.objects.get(facility=garage).bands.update(unit_price=Decimal("7.00"))

    r = as_user(alice).post(
        "/api/v1/bookings/",
        booking_body(garage, alice_car, start, quote_token=quote["quote_token"]),
        format="json",
    )

    assert r.status_code == 201, r.content
    assert r.json()["price"] == quote["price"] == "6.00"
    assert r.json()["rate_version"] == quote["rate_version"]["id"]


def test_a_quote_token_for_another_window_is_400_and_nothing_is_booked(
    as_user, alice, alice_car, api
):
    garage = _garage("Kamppi", 60.17, "3.00")
    start = tomorrow_at(9)
    quote = api.get(f"/api/v1/facilities/{garage.id}/quote/", _window(start)).json()
    r = as_user(alice).post(
        "/api/v1/bookings/",
        booking_body(garage, alice_car, start, hours=3, quote_token=quote["quote_token"]),
        format="json",
    )
    assert r.status_code == 400
    assert "quote_token" in r.json()["error"]["fields"]
    assert not alice.bookings.exists()


def test_an_expired_quote_token_is_409_quote_expired(as_user, alice, alice_car, api, settings):
    garage = _garage("Kamppi", 60.17, "3.00")
    start = tomorrow_at(9)
    quote = api.get(f"/api/v1/facilities/{garage.id}/quote/", _window(start)).json()
    settings.QUOTE_TOKEN_MINUTES = -1
    r = as_user(alice).post(
        "/api/v1/bookings/",
        booking_body(garage, alice_car, start, quote_token=quote["quote_token"]),
        format="json",
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "quote_expired"
    assert not alice.bookings.exists()


def test_no_board_in_force_is_409_for_quotes_and_bookings(api, as_user, alice, alice_car):
    garage = factories.FacilityFactory()
    factories.SpotFactory(zone__facility=garage)
    start = tomorrow_at(9)
    quote = api.get(f"/api/v1/facilities/{garage.id}/quote/", _window(start))
    book = as_user(alice).post(
        "/api/v1/bookings/", booking_body(garage, alice_car, start), format="json"
    )
    assert (quote.status_code, quote.json()["error"]["code"]) == (409, "no_rate_in_force")
    assert (book.status_code, book.json()["error"]["code"]) == (409, "no_rate_in_force")


def test_an_unknown_facility_quote_is_404_and_a_bad_kind_400(api):
    garage = _garage("Kamppi", 60.17, "3.00")
    window = _window(tomorrow_at(9))
    assert api.get("/api/v1/facilities/999999/quote/", window).status_code == 404
    bad = api.get(f"/api/v1/facilities/{garage.id}/quote/", {**window, "spot_kind": "truck"})
    assert bad.status_code == 400
    assert "spot_kind" in bad.json()["error"]["fields"]


def test_an_extension_quote_prices_the_difference_before_extending(as_user, alice, alice_car):
    garage = _garage("Kamppi", 60.17, "3.00", daily_max=Decimal("50.00"))
    client = as_user(alice)
    booking = client.post(
        "/api/v1/bookings/", booking_body(garage, alice_car, tomorrow_at(9)), format="json"
    ).json()
    later = (tomorrow_at(9) + timedelta(hours=4)).isoformat()
    url = f"/api/v1/bookings/{booking['id']}/extend-quote/"

    quote = client.get(url, {"ends_at": later}).json()
    earlier = client.get(url, {"ends_at": tomorrow_at(10).isoformat()})

    assert (quote["current_price"], quote["price"], quote["difference"]) == (
        "6.00",
        "12.00",
        "6.00",
    )
    assert earlier.status_code == 400
    assert client.get(f"/api/v1/bookings/{booking['id']}/").json()["ends_at"] == booking["ends_at"]


def test_cancelling_late_charges_the_boards_fee_and_reports_the_refund(as_user, alice, alice_car):
    garage = _garage(
        "Kamppi", 60.17, "3.00", cancel_free_hours=48, cancel_fee_percent=Decimal("50")
    )
    client = as_user(alice)
    booking = client.post(
        "/api/v1/bookings/", booking_body(garage, alice_car, tomorrow_at(9)), format="json"
    ).json()
    r = client.post(f"/api/v1/bookings/{booking['id']}/cancel/", {}, format="json")
    body = r.json()
    assert (body["price"], body["cancellation_fee"], body["refund_due"]) == ("6.00", "3.00", "3.00")
