"""Delivery against a real local HTTP receiver: signatures, retries, order, failure,
disabling, redirects and the SSRF guard. Deliveries run in-process here
(``endpoint_deliver``, what the task calls); test_worker_webhooks runs them on a worker."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from parkme.models import Role
from parkme.services import membership_set
from parkme.webhooks.delivery import endpoint_deliver, retry_delay
from parkme.webhooks.events import EventType
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery
from parkme.webhooks.services import Event, endpoint_roll_secret, webhook_emit
from parkme.webhooks.signing import signature_verify
from tests import factories
from tests.concurrency import race
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import Reply, closed_port_url


def emit(operator, n=1, event_type=EventType.BOOKING_CREATED) -> list[WebhookDelivery]:
    webhook_emit(
        [
            Event(operator_id=operator.pk, type=event_type, data=lambda i=i: {"n": i})
            for i in range(n)
        ]
    )
    return list(WebhookDelivery.objects.order_by("id"))


def deliver_until_settled(endpoint, *, timeout: float = 10) -> None:
    """What the worker does: run the endpoint's queue, and again when a retry is due."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        endpoint_deliver(endpoint_id=endpoint.pk)
        if not WebhookDelivery.objects.filter(
            endpoint=endpoint, status=DeliveryStatus.PENDING
        ).exists():
            return
        time.sleep(0.02)
    raise TimeoutError("deliveries still pending")


@pytest.fixture
def operator(db):
    return factories.OperatorFactory(slug="central")


def test_a_delivery_is_posted_signed_and_recorded(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    (delivery,) = emit(operator)

    result = endpoint_deliver(endpoint_id=endpoint.pk)

    assert result.delivered == 1
    (request,) = receiver.requests
    assert request.path == "/hooks/parkme"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["ParkMe-Event-Id"] == str(delivery.event_id)
    assert request.headers["ParkMe-Event-Type"] == "booking.created"
    assert signature_verify(endpoint.secret, request.headers["ParkMe-Signature"], request.body)
    assert not signature_verify("whsec_wrong", request.headers["ParkMe-Signature"], request.body)
    body = request.json
    assert body == {
        "id": str(delivery.event_id),
        "type": "booking.created",
        "created_at": body["created_at"],
        "api_version": "v1",
        "operator": "central",
        "data": {"n": 0},
    }
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.response_status == 200
    assert delivery.attempts == 1
    assert delivery.latency_ms is not None
    assert delivery.delivered_at is not None
    assert delivery.last_error == ""


def test_signature_is_over_timestamp_and_exact_body(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    emit(operator)
    endpoint_deliver(endpoint_id=endpoint.pk)
    (request,) = receiver.requests
    header = request.headers["ParkMe-Signature"]
    t = int(header.split(",")[0].removeprefix("t="))
    assert abs(t - time.time()) < 60
    # A changed body, or the same signature presented 6 minutes later, is rejected.
    assert not signature_verify(endpoint.secret, header, request.body + b" ")
    assert not signature_verify(endpoint.secret, header, request.body, now=t + 360)
    assert signature_verify(endpoint.secret, header, request.body, now=t + 240)


def test_during_a_secret_roll_both_secrets_sign_until_the_overlap_ends(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    old = endpoint.secret
    new = endpoint_roll_secret(endpoint_id=endpoint.pk)
    emit(operator, 1)
    endpoint_deliver(endpoint_id=endpoint.pk)
    header, body = receiver.requests[0].headers["ParkMe-Signature"], receiver.requests[0].body
    assert header.count("v1=") == 2
    assert signature_verify(new, header, body)
    assert signature_verify(old, header, body)

    endpoint.refresh_from_db()
    endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    endpoint.save()
    emit(operator, 1)
    endpoint_deliver(endpoint_id=endpoint.pk)
    header, body = receiver.requests[1].headers["ParkMe-Signature"], receiver.requests[1].body
    assert header.count("v1=") == 1
    assert signature_verify(new, header, body)
    assert not signature_verify(old, header, body)


@pytest.mark.parametrize(
    "failure",
    [Reply(status=500), Reply(status=404), Reply(status=200, delay=1.0)],
    ids=["http-500", "http-404", "timeout"],
)
def test_failed_attempts_are_retried_with_backoff_then_delivered(
    operator, receiver, fast_retries, failure
):
    endpoint = make_endpoint(operator, receiver.url)
    receiver.then(failure, failure)
    (delivery,) = emit(operator)

    first = endpoint_deliver(endpoint_id=endpoint.pk)
    assert first.delivered == 0
    assert first.retry_at is not None  # the task re-queues itself for then
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at > delivery.last_attempt_at
    if failure.delay:
        assert delivery.last_error == "timed out after 0.5 s"
        assert delivery.response_status is None
    else:
        assert delivery.last_error == f"HTTP {failure.status}"
        assert delivery.response_status == failure.status

    deliver_until_settled(endpoint)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert delivery.response_status == 200
    assert receiver.event_ids() == [str(delivery.event_id)] * 3


def test_connection_refused_is_retried_until_the_receiver_is_up(operator, fast_retries, receiver):
    endpoint = make_endpoint(operator, closed_port_url())
    (delivery,) = emit(operator)
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert "ConnectionRefusedError" in delivery.last_error

    endpoint.url = receiver.url  # the operator's system comes back (here: at another port)
    endpoint.save()
    deliver_until_settled(endpoint)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 2


def test_first_retry_within_a_minute_and_backoff_grows_to_its_cap(settings):
    settings.PARKME_WEBHOOKS = {
        **settings.PARKME_WEBHOOKS,
        "RETRY_BASE_SECONDS": 30.0,
        "RETRY_MAX_SECONDS": 1800.0,
    }
    for _ in range(200):
        assert 15 <= retry_delay(1) <= 30
        assert 30 <= retry_delay(2) <= 60
        assert 900 <= retry_delay(12) <= 1800
    # Over 24 hours that is a few dozen attempts, not thousands.
    elapsed, attempts = 0.0, 0
    while elapsed < 24 * 3600:
        attempts += 1
        elapsed += retry_delay(attempts)
    assert 40 <= attempts <= 110


def test_redirects_are_not_followed(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    receiver.then(Reply(status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}))
    (delivery,) = emit(operator)
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.response_status == 302
    assert "redirect to http://127.0.0.1:9/elsewhere not followed" in delivery.last_error
    assert len(receiver.requests) == 1


def test_events_reach_an_endpoint_in_the_order_written_even_across_retries(
    operator, receiver, fast_retries
):
    endpoint = make_endpoint(operator, receiver.url)
    deliveries = emit(operator, 5)
    # The second event fails twice: nothing after it may overtake it.
    receiver.then(Reply(), Reply(status=503), Reply(status=503))

    deliver_until_settled(endpoint)

    ids = [str(d.event_id) for d in deliveries]
    seen = receiver.event_ids()
    assert seen == [ids[0], ids[1], ids[1], ids[1], ids[2], ids[3], ids[4]]
    assert [r.json["data"]["n"] for r in receiver.requests] == [0, 1, 1, 1, 2, 3, 4]


def test_after_the_retry_window_a_delivery_fails_and_the_next_goes_out(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    first, second = emit(operator, 2)
    receiver.then(Reply(status=500))
    # 24 hours have passed since the first event was written.
    WebhookDelivery.objects.filter(pk=first.pk).update(
        retry_until=timezone.now() - timedelta(seconds=1)
    )

    result = endpoint_deliver(endpoint_id=endpoint.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts, first.last_error) == (
        DeliveryStatus.FAILED,
        1,
        "HTTP 500",
    )
    assert second.status == DeliveryStatus.DELIVERED
    assert (result.failed, result.delivered) == (1, 1)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0  # the delivered one reset the count


def test_twenty_failed_events_in_a_row_disable_the_endpoint_and_tell_its_admins(
    operator, receiver, settings, django_capture_on_commit_callbacks
):
    settings.PARKME_WEBHOOKS = {**settings.PARKME_WEBHOOKS, "RETRY_FOR_HOURS": 0}
    admin = factories.UserFactory(email="boss@central.test")
    membership_set(user=admin, operator=operator, role=Role.ADMIN)
    attendant = factories.UserFactory(email="desk@central.test")
    membership_set(user=attendant, operator=operator, role=Role.ATTENDANT)
    endpoint = make_endpoint(operator, receiver.url)
    receiver.default = Reply(status=500)
    emit(operator, 22)

    with django_capture_on_commit_callbacks(execute=True):
        endpoint_deliver(endpoint_id=endpoint.pk)

    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.consecutive_failures == 20
    assert endpoint.disabled_reason.startswith("20 events in a row failed; the last: HTTP 500")
    assert len(receiver.requests) == 20  # it stopped there
    statuses = list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [DeliveryStatus.FAILED] * 20 + [DeliveryStatus.PENDING] * 2
    (message,) = mail.outbox
    assert message.to == ["boss@central.test"]
    assert endpoint.url in message.subject
    assert 'tick "active"' in message.body

    # Disabled: nothing more is sent; re-activated by an admin, the waiting events go out.
    assert endpoint_deliver(endpoint_id=endpoint.pk).delivered == 0
    assert len(receiver.requests) == 20
    receiver.default = Reply()
    from parkme.webhooks.services import endpoint_save

    endpoint.is_active = True
    endpoint_save(endpoint)
    assert endpoint_deliver(endpoint_id=endpoint.pk).delivered == 2
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://127.0.0.1/hooks", "127.0.0.1, a loopback address"),
        ("https://10.1.2.3/hooks", "10.1.2.3, a private address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254, a link-local address"),
        ("https://[::1]/hooks", "::1, a loopback address"),
        ("https://[::ffff:10.0.0.1]/hooks", "a private address"),
        ("https://localhost/hooks", "a loopback address"),
        ("https://224.0.0.1/hooks", "224.0.0.1, a multicast address"),
    ],
)
def test_ssrf_guard_refuses_private_addresses_at_delivery(operator, settings, url, refused):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    endpoint = make_endpoint(operator, url)
    (delivery,) = emit(operator)

    endpoint_deliver(endpoint_id=endpoint.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # retried later, like any failure
    assert delivery.last_error.startswith("refused: ")
    assert refused in delivery.last_error
    assert delivery.response_status is None


def test_ssrf_guard_refuses_plain_http_and_the_receiver_hears_nothing(operator, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    endpoint = make_endpoint(operator, receiver.url)  # http://127.0.0.1:…
    (delivery,) = emit(operator)
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.last_error == "refused: only https URLs are allowed"
    assert receiver.requests == []

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # development and tests
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the retry is due
    endpoint_deliver(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_endpoint_send_each_event_once_and_in_order(receiver):
    operator = factories.OperatorFactory()
    endpoint = make_endpoint(operator, receiver.url)
    receiver.default = Reply(delay=0.01)
    emit(operator, 30)
    ids = [
        str(i) for i in WebhookDelivery.objects.order_by("id").values_list("event_id", flat=True)
    ]

    def worker() -> None:
        # Until nothing is pending: a call that finds the endpoint busy with another worker
        # sends nothing, so a fixed number of calls may run out on a loaded machine.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()
        ):
            endpoint_deliver(endpoint_id=endpoint.pk)

    race([worker] * 4)
    assert receiver.event_ids() == ids
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_delivery_row_stores_the_exact_body_sent(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    (delivery,) = emit(operator)
    endpoint_deliver(endpoint_id=endpoint.pk)
    assert receiver.requests[0].body == delivery.payload.encode()
    assert json.loads(delivery.payload)["data"] == {"n": 0}


def test_check_deploy_warns_when_private_urls_are_allowed(settings):
    from django.core.checks import run_checks

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    assert [m.id for m in run_checks(include_deployment_checks=True)].count("parkme.W001") == 1
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert "parkme.W001" not in [m.id for m in run_checks(include_deployment_checks=True)]


def test_a_run_stops_at_its_limit_and_says_there_is_more(operator, receiver):
    endpoint = make_endpoint(operator, receiver.url)
    emit(operator, 5)
    first = endpoint_deliver(endpoint_id=endpoint.pk, limit=2)
    assert (first.delivered, first.more) == (2, True)  # the task re-queues the endpoint
    rest = endpoint_deliver(endpoint_id=endpoint.pk)
    assert (rest.delivered, rest.more) == (3, False)
    assert len(receiver.requests) == 5


@given(
    attempts=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.01, max_value=600),
    cap=st.floats(min_value=0.01, max_value=7200),
)
@hypothesis_settings(max_examples=300, deadline=None)
def test_retry_delay_is_in_the_upper_half_of_the_capped_exponential(attempts, base, cap):
    from django.conf import settings as django_settings
    from django.test import override_settings

    config = {
        **django_settings.PARKME_WEBHOOKS,
        "RETRY_BASE_SECONDS": base,
        "RETRY_MAX_SECONDS": cap,
    }
    with override_settings(PARKME_WEBHOOKS=config):
        delay = retry_delay(attempts)
    expected = min(cap, base * 2 ** (attempts - 1))
    assert expected / 2 <= delay <= expected
