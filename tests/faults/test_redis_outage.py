"""Redis dies while drivers search and book: PostgreSQL answers, nothing is lost, and
caching comes back by itself when Redis does."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings

from bookings.models import Booking
from tests.api.conftest import api_client_for, booking_body, tomorrow_at
from tests.factories import UserFactory, VehicleFactory
from tests.faults.redis_server import PrivateRedis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    caches = {
        alias: {**config, "LOCATION": server.url} for alias, config in settings.CACHES.items()
    }
    with override_settings(CACHES=caches):
        yield server
    server.stop()


def test_search_and_booking_survive_a_redis_outage_and_caching_resumes(
    private_redis, garage, caplog
):
    params = {"lat": 60.17, "lng": 24.94}
    drivers = [UserFactory() for _ in range(4)]
    cars = [VehicleFactory(owner=d) for d in drivers]
    client = api_client_for(drivers[0])
    assert client.get("/api/v1/facilities/", params)["X-Cache"] == "MISS"
    assert client.get("/api/v1/facilities/", params)["X-Cache"] == "HIT"

    statuses: Counter = Counter()
    stop_now = threading.Event()
    errors: list = []

    def driver_loop(n: int) -> None:
        from django.db import connections

        me = api_client_for(drivers[n])
        try:
            for i in range(12):
                statuses[me.get("/api/v1/facilities/", params).status_code] += 1
                body = booking_body(garage, cars[n], tomorrow_at(0) + timedelta(hours=3 * i))
                statuses[me.post("/api/v1/bookings/", body, format="json").status_code] += 1
                if i == 1:
                    stop_now.set()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    caplog.set_level(logging.WARNING)
    threads = [threading.Thread(target=driver_loop, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    assert stop_now.wait(timeout=60)
    private_redis.stop()
    for t in threads:
        t.join(timeout=120)

    assert not errors
    assert not [code for code in statuses if code >= 500], statuses
    assert set(statuses) <= {200, 201, 409}
    # Booking caps: 5 live per driver → 5 × 4 bookings written, none lost to the outage.
    assert Booking.objects.count() == 20
    assert statuses[201] == 20
    assert "failing open" in caplog.text

    down = client.get("/health/ready/")
    assert down.status_code == 503
    assert down.json()["checks"]["cache"]["ok"] is False
    r = client.get("/api/v1/facilities/", params)
    assert r.status_code == 200
    assert r["X-Cache"] == "MISS"

    private_redis.start()  # same port: clients reconnect without a restart
    assert client.get("/health/ready/").json()["checks"]["cache"]["ok"] is True
    assert client.get("/api/v1/facilities/", params)["X-Cache"] == "MISS"
    assert client.get("/api/v1/facilities/", params)["X-Cache"] == "HIT"
