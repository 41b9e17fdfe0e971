"""Webhooks through a real `celery worker` on the real broker to a real HTTP receiver:
a committed booking's events arrive in order, failures are retried by the worker itself,
the sweep sends what was never enqueued, and a worker killed mid-POST loses and doubles
nothing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from parkme.webhooks import tasks
from parkme.webhooks.events import EventType
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery
from parkme.webhooks.services import Event, webhook_emit
from parkme.webhooks.signing import signature_verify
from tests.background.conftest import book_through_the_engine, wait_for
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import Receiver, Reply

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TIMEOUT = 60
FAST = {"WEBHOOK_RETRY_BASE_SECONDS": "0.2", "WEBHOOK_RETRY_MAX_SECONDS": "0.5"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _settled() -> bool:
    return not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()


def test_a_committed_booking_reaches_the_receiver_in_order(garage, receiver, start_worker):
    endpoint = make_endpoint(garage.operator, receiver.url)
    start_worker()

    booking = book_through_the_engine(garage)  # enqueues the endpoint's delivery on commit

    wait_for(lambda: len(receiver.requests) == 2, timeout=TIMEOUT, what="both events")
    wait_for(_settled, timeout=TIMEOUT, what="the rows to be marked delivered")
    created, confirmed = receiver.requests
    assert [created.json["type"], confirmed.json["type"]] == [
        "booking.created",
        "booking.confirmed",
    ]
    assert created.json["data"]["id"] == str(booking.public_id)
    for request in receiver.requests:
        assert signature_verify(endpoint.secret, request.headers["ParkMe-Signature"], request.body)
    assert set(WebhookDelivery.objects.values_list("status", "response_status")) == {
        (DeliveryStatus.DELIVERED, 200)
    }


def test_the_worker_retries_failed_posts_with_backoff_then_delivers(garage, receiver, start_worker):
    endpoint = make_endpoint(garage.operator, receiver.url)
    receiver.then(Reply(status=500), Reply(status=502))
    start_worker(env=FAST)

    book_through_the_engine(garage)

    wait_for(_settled, timeout=TIMEOUT, what="delivery after the retries")
    first, second = WebhookDelivery.objects.order_by("id")
    assert (first.status, first.attempts, first.response_status) == ("delivered", 3, 200)
    assert (second.status, second.attempts) == ("delivered", 1)
    seen = receiver.event_ids()
    assert seen == [str(first.event_id)] * 3 + [str(second.event_id)]
    gaps = [b.at - a.at for a, b in zip(receiver.requests[:2], receiver.requests[1:3], strict=True)]
    assert all(gap >= 0.09 for gap in gaps)  # backed off (half of 0.2 s at least), not hammered
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_the_sweep_sends_what_was_never_enqueued(garage, receiver, start_worker):
    make_endpoint(garage.operator, receiver.url, types=[EventType.GATE_ENTRY])
    webhook_emit([Event(operator_id=garage.operator_id, type="gate.entry", data=lambda: {})])
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    # Starting the worker purges the queues: the task sent on commit is lost, as when the
    # broker was down at commit time.
    start_worker()
    time.sleep(1)
    assert not _settled()
    assert receiver.requests == []

    queued = tasks.deliver_pending.delay().get(timeout=TIMEOUT)

    assert queued == 1
    wait_for(_settled, timeout=TIMEOUT, what="the swept delivery")
    assert len(receiver.requests) == 1


def test_a_worker_killed_mid_delivery_loses_and_doubles_nothing(garage, receiver, start_worker):
    make_endpoint(garage.operator, receiver.url)
    # The first POST hangs long enough for the kill to land while it is in flight.
    receiver.then(Reply(delay=3))
    first = start_worker(env={**FAST, "WEBHOOK_SWEEP_AFTER_SECONDS": "0"})
    webhook_emit(
        [
            Event(operator_id=garage.operator_id, type="booking.created", data=lambda i=i: {"n": i})
            for i in range(3)
        ]
    )
    ids = [
        str(i) for i in WebhookDelivery.objects.order_by("id").values_list("event_id", flat=True)
    ]
    wait_for(lambda: len(receiver.requests) == 1, timeout=TIMEOUT, what="the first POST")
    first.kill()
    time.sleep(0.5)
    # The kill rolled the attempt back: nothing is marked, nothing is lost.
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", 0)}

    start_worker(env={**FAST, "WEBHOOK_SWEEP_AFTER_SECONDS": "0"})

    def all_delivered() -> bool:
        # What beat does every minute. (The killed worker's own task comes back only after
        # the broker's visibility timeout.)
        tasks.deliver_pending.delay().get(timeout=TIMEOUT)
        return _settled()

    wait_for(all_delivered, timeout=TIMEOUT, what="every event to be delivered")
    seen = Counter(receiver.event_ids())
    assert set(seen) == set(ids)  # each event id at least once...
    assert seen[ids[0]] == 2  # ...the one in flight at the kill twice
    assert seen[ids[1]] == seen[ids[2]] == 1
    assert [i for i in receiver.event_ids() if i != ids[0]] == ids[1:]  # still in order
    rows = list(WebhookDelivery.objects.order_by("id").values_list("event_id", "status"))
    assert [(str(e), s) for e, s in rows] == [(i, "delivered") for i in ids]  # one row each
