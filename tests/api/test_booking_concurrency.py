"""Real threads, real connections, the same rows: the guarantees hold under races."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections, transaction

from bookings.models import Booking
from bookings.selectors import booking_live_overlap_count
from bookings.states import BookingStatus
from facilities.models import Spot
from tests.api.conftest import api_client_for, booking_body, tomorrow_at
from tests.concurrency import race
from tests.factories import UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _hammer(calls) -> list:
    return race(calls)


def _overlapping_live_pairs() -> int:
    return booking_live_overlap_count()


def test_fifty_drivers_race_for_the_last_spot_exactly_one_wins(garage):
    garage.spots.exclude(code="S1").update(is_active=False)
    start = tomorrow_at(9)
    drivers = [UserFactory() for _ in range(50)]
    cars = [VehicleFactory(owner=d) for d in drivers]
    clients = [api_client_for(d) for d in drivers]

    def attempt(client, car):
        return lambda: client.post(
            "/api/v1/bookings/", booking_body(garage, car, start), format="json"
        )

    responses = _hammer([attempt(c, v) for c, v in zip(clients, cars, strict=True)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}
    codes = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert codes == {"no_availability"}
    assert Booking.objects.count() == 1
    assert _overlapping_live_pairs() == 0


def test_twenty_concurrent_retries_with_one_idempotency_key_make_one_booking(
    alice, alice_car, garage
):
    body = booking_body(garage, alice_car, tomorrow_at(9))
    clients = [api_client_for(alice) for _ in range(20)]
    responses = _hammer(
        [
            (
                lambda c=c: c.post(
                    "/api/v1/bookings/", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-me"
                )
            )
            for c in clients
        ]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert Booking.objects.count() == 1


def test_a_driver_at_the_cap_racing_ten_bookings_stays_at_the_cap(alice, garage):
    start = tomorrow_at(1)
    vehicles = [VehicleFactory(owner=alice, plate=f"RACE{n}") for n in range(14)]
    client = api_client_for(alice)
    for n in range(4):  # one below the cap of 5
        r = client.post(
            "/api/v1/bookings/",
            booking_body(garage, vehicles[n], start + timedelta(hours=3 * n)),
            format="json",
        )
        assert r.status_code == 201
    racers = vehicles[4:]
    responses = _hammer(
        [
            (
                lambda v=v: api_client_for(alice).post(
                    "/api/v1/bookings/",
                    booking_body(garage, v, start + timedelta(days=1)),
                    format="json",
                )
            )
            for v in racers
        ]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1
    assert statuses[409] == 9
    assert Booking.objects.filter(driver=alice).count() == 5


def test_many_drivers_on_few_spots_fill_every_spot_once(garage):
    """More drivers than spots: every spot is used exactly once, the rest get 409."""
    start = tomorrow_at(9)
    drivers = [UserFactory() for _ in range(12)]
    cars = [VehicleFactory(owner=d) for d in drivers]
    responses = _hammer(
        [
            (
                lambda d=d, v=v: api_client_for(d).post(
                    "/api/v1/bookings/", booking_body(garage, v, start), format="json"
                )
            )
            for d, v in zip(drivers, cars, strict=True)
        ]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 3, 409: 9}  # three standard spots
    assert _overlapping_live_pairs() == 0


def test_a_free_spot_locked_by_a_booking_in_flight_for_another_window_is_waited_for(
    alice, alice_car, garage
):
    """Every standard spot is locked by transactions booking an evening window; a morning
    booking must wait for them and then succeed, not be told that nothing is free."""
    morning, evening = tomorrow_at(9), tomorrow_at(20)
    locked, release = threading.Event(), threading.Event()
    others = [UserFactory() for _ in range(3)]
    other_cars = [VehicleFactory(owner=d) for d in others]

    def evening_bookings_in_flight():
        try:
            with transaction.atomic():
                spots = list(
                    Spot.objects.filter(facility=garage, kind="standard")
                    .select_for_update()
                    .order_by("id")
                )
                for spot, driver, car in zip(spots, others, other_cars, strict=True):
                    Booking.objects.create(
                        facility=garage,
                        spot=spot,
                        driver=driver,
                        vehicle=car,
                        spot_kind="standard",
                        starts_at=evening,
                        ends_at=evening + timedelta(hours=2),
                        status=BookingStatus.CONFIRMED,
                        price="6.00",
                        currency="EUR",
                    )
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=evening_bookings_in_flight)
    holder.start()
    assert locked.wait(timeout=30)
    threading.Timer(1.0, release.set).start()
    response = api_client_for(alice).post(
        "/api/v1/bookings/", booking_body(garage, alice_car, morning), format="json"
    )
    holder.join(timeout=30)
    assert response.status_code == 201, response.json()
    assert Booking.objects.filter(starts_at=evening).count() == 3
    assert Booking.objects.get(driver=alice).spot.kind == "standard"
    assert _overlapping_live_pairs() == 0
