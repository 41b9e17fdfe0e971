"""A driver hammering the booking endpoint from several connections at once is cut off at
the booking rate with 429 + Retry-After, while five other drivers booking at the same time
are not slowed into refusals: over real HTTP to a live server, with the Redis throttles and
PostgreSQL it uses in production, and the database holding exactly what was answered 201."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework_simplejwt.tokens import RefreshToken

from bookings.models import Booking
from facilities.models import Zone
from tests import factories
from tests.api import conftest as api_conftest
from tests.api.conftest import booking_body, tomorrow_at

pytestmark = pytest.mark.django_db(transaction=True)
garage = api_conftest.garage  # Kamppi: one zone, three standard spots

BURST = 5  # booking_burst per minute
ABUSER_THREADS = 4
ABUSER_REQUESTS_PER_THREAD = 10
DRIVERS = 5
BOOKINGS_PER_DRIVER = 3
REQUEST_TIMEOUT = 30


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    body: dict


def _post(url: str, token: str, body: dict) -> Answer:
    request = urllib.request.Request(  # noqa: S310 - the live server's http:// URL
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
            return Answer(response.status, response.headers.get("Retry-After"), _json(response))
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers.get("Retry-After"), _json(error))


def _json(response) -> dict:
    raw = response.read()
    try:
        return json.loads(raw)
    except ValueError:
        return {"unparsed": raw[:500].decode(errors="replace")}


def _token(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def _outside_a_window_edge(period: int = 60, margin: float = 20) -> None:
    """The throttle counts per fixed clock window; start well inside one, so the burst is
    judged by a single window (at an edge a client may legitimately get two windows' worth)."""
    left = period - time.time() % period
    if left < margin:
        time.sleep(left + 0.1)


def test_a_client_over_the_booking_rate_gets_429_while_other_drivers_book(live_server, garage):
    # A standard spot for every request that can be in flight at once, so no booking
    # queues behind another's spot lock and the test measures the throttle alone.
    for _ in range(ABUSER_THREADS + DRIVERS - 3):
        factories.SpotFactory(zone=Zone.objects.get(facility=garage), kind="standard")
    abuser = factories.UserFactory(email="hammer@example.test")
    abuser_car = factories.VehicleFactory(owner=abuser)
    drivers = [factories.UserFactory() for _ in range(DRIVERS)]
    cars = [factories.VehicleFactory(owner=driver) for driver in drivers]
    abuser_token, driver_tokens = _token(abuser), [_token(driver) for driver in drivers]
    url = f"{live_server.url}/api/v1/bookings/"
    first_start = tomorrow_at(0)

    def slot(n: int):
        """The n-th of a row of non-overlapping two-hour windows from tomorrow on, so no
        answer depends on which spot or vehicle another request took."""
        return first_start + timedelta(hours=3 * n)

    def hammer(thread: int) -> list[Answer]:
        start.wait(timeout=30)
        first_slot = thread * ABUSER_REQUESTS_PER_THREAD
        return [
            _post(url, abuser_token, booking_body(garage, abuser_car, slot(first_slot + i)))
            for i in range(ABUSER_REQUESTS_PER_THREAD)
        ]

    def book_normally(d: int) -> list[Answer]:
        start.wait(timeout=30)
        first_slot = ABUSER_THREADS * ABUSER_REQUESTS_PER_THREAD + d * BOOKINGS_PER_DRIVER
        return [
            _post(url, driver_tokens[d], booking_body(garage, cars[d], slot(first_slot + i)))
            for i in range(BOOKINGS_PER_DRIVER)
        ]

    framework = settings.REST_FRAMEWORK
    lower = {
        **framework,
        "DEFAULT_THROTTLE_RATES": {
            **framework["DEFAULT_THROTTLE_RATES"],
            "booking_burst": f"{BURST}/minute",
            "booking": "50/hour",
        },
    }
    start = threading.Barrier(ABUSER_THREADS + DRIVERS)
    # The live server is a thread of this process, so it answers with these rates too.
    with override_settings(REST_FRAMEWORK=lower):
        _outside_a_window_edge()
        with ThreadPoolExecutor(max_workers=ABUSER_THREADS + DRIVERS) as pool:
            hammering = [pool.submit(hammer, t) for t in range(ABUSER_THREADS)]
            booking = [pool.submit(book_normally, d) for d in range(DRIVERS)]
            abuser_answers = [a for f in hammering for a in f.result(timeout=120)]
            driver_answers = [f.result(timeout=120) for f in booking]

    # The abuser: the first BURST requests through (all booked), every other one refused
    # with a 429 in the error format that says when to come back.
    assert len(abuser_answers) == ABUSER_THREADS * ABUSER_REQUESTS_PER_THREAD
    let_through = [a for a in abuser_answers if a.status != 429]
    refused = [a for a in abuser_answers if a.status == 429]
    assert len(let_through) == BURST, [(a.status, a.body) for a in let_through]
    assert [a.status for a in let_through] == [201] * BURST, [a.body for a in let_through]
    for answer in refused:
        assert answer.retry_after is not None
        assert answer.retry_after.isdigit(), answer
        assert 1 <= int(answer.retry_after) <= 60
        assert answer.body["error"]["code"] == "throttled"

    # Everyone else booked everything they asked for.
    for d, answers in enumerate(driver_answers):
        assert [a.status for a in answers] == [201] * BOOKINGS_PER_DRIVER, (
            d,
            [a.body for a in answers],
        )

    # What was answered 201 is exactly what the database holds.
    answered = sorted(
        a.body["id"] for a in [*let_through, *(a for answers in driver_answers for a in answers)]
    )
    assert len(answered) == BURST + DRIVERS * BOOKINGS_PER_DRIVER
    assert sorted(str(pk) for pk in Booking.objects.values_list("public_id", flat=True)) == answered
    assert Booking.objects.filter(driver=abuser).count() == BURST
    for driver in drivers:
        assert Booking.objects.filter(driver=driver).count() == BOOKINGS_PER_DRIVER
