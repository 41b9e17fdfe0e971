"""Webhooks in the staff admin: endpoints (the secret shown once, URL checks, roll, test
events) and deliveries (filters, the payload, redelivery), for operator admins only.

Operator A and operator B each have an admin; A also has an attendant and a gate device.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parkme.models import Operator, Role, User
from parkme.webhooks.events import TEST_EVENT, EventType
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.admin.conftest import client_for, ensure_staff_groups, staff

pytestmark = pytest.mark.django_db

ENDPOINTS = "admin:webhooks_webhookendpoint_changelist"
ENDPOINT_ADD = "admin:webhooks_webhookendpoint_add"
ENDPOINT_CHANGE = "admin:webhooks_webhookendpoint_change"
ROLL = "admin:webhooks_webhookendpoint_roll_secret"
SEND_TEST = "admin:webhooks_webhookendpoint_send_test"
DELIVERIES = "admin:webhooks_webhookdelivery_changelist"
DELIVERY = "admin:webhooks_webhookdelivery_change"
REDELIVER = "admin:webhooks_webhookdelivery_redeliver"
MISSING_ID = 987654


@pytest.fixture(autouse=True)
def _staff_groups(db) -> None:
    ensure_staff_groups()


@pytest.fixture
def admin_a(operator_a: Operator) -> User:
    return staff("admin@a.test", operator_a, Role.ADMIN)


@pytest.fixture
def attendant_a(operator_a: Operator) -> User:
    return staff("attendant@a.test", operator_a, Role.ATTENDANT)


@pytest.fixture
def device_a(operator_a: Operator) -> User:
    return staff("gate@a.test", operator_a, Role.DEVICE)


@pytest.fixture
def admin_b(operator_b: Operator) -> User:
    return staff("admin@b.test", operator_b, Role.ADMIN)


@pytest.fixture
def endpoint_a(operator_a, endpoint_for) -> WebhookEndpoint:
    return endpoint_for(
        operator_a, "https://hooks.a.test/parkme", types=[EventType.BOOKING_CREATED]
    )


@pytest.fixture
def endpoint_b(operator_b, endpoint_for) -> WebhookEndpoint:
    return endpoint_for(
        operator_b, "https://hooks.b.test/secret-path", types=[EventType.BOOKING_CREATED]
    )


def delivery(
    endpoint: WebhookEndpoint,
    *,
    event_type: str = EventType.BOOKING_CREATED,
    status: str = DeliveryStatus.FAILED,
    **fields,
) -> WebhookDelivery:
    event_id = uuid.uuid4()
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event_type=event_type,
        payload=json.dumps({"id": str(event_id), "type": event_type, "data": {"n": 1}}),
        retry_until=timezone.now() + timedelta(hours=24),
        status=status,
        **fields,
    )


def page(client, name: str, *args, **params) -> str:
    response = client.get(reverse(name, args=args or None), params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def endpoint_form(operator: Operator, **fields) -> dict:
    return {
        "operator": str(operator.pk),
        "url": "https://hooks.example.com/parkme",
        "description": "Our ERP",
        "event_types": [EventType.BOOKING_CREATED, EventType.PERMIT_CREATED],
        "is_active": "on",
        **fields,
    }


def form_errors(response) -> dict:
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


def act(client, changelist: str, action: str, *rows):
    return client.post(
        reverse(changelist),
        {"action": action, "index": "0", "_selected_action": [str(r.pk) for r in rows]},
    )


def listed(response) -> set[int]:
    assert response.status_code == 200, response.status_code
    return {row.pk for row in response.context["cl"].result_list}


def as_missing(client, url: str):
    """The answer to a GET: a redirect to the index saying the row does not exist."""
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert "doesn’t exist" in client.get(response.url).content.decode()
    return response.status_code, response.url


# --- adding an endpoint: the secret, once -------------------------------------------------


def test_admin_adds_an_endpoint_and_sees_the_secret_exactly_once(operator_a, admin_a):
    client = client_for(admin_a)
    form = page(client, ENDPOINT_ADD)
    assert 'type="checkbox" name="event_types"' in form
    assert form.count('name="event_types"') == len(EventType.values)

    response = client.post(reverse(ENDPOINT_ADD), endpoint_form(operator_a))

    assert response.status_code == 200  # a page, not a redirect carrying a message
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.operator, endpoint.url, endpoint.description, endpoint.is_active) == (
        operator_a,
        "https://hooks.example.com/parkme",
        "Our ERP",
        True,
    )
    assert endpoint.event_types == [EventType.BOOKING_CREATED, EventType.PERMIT_CREATED]
    shown = response.context["secret"]
    html = response.content.decode()
    assert shown == endpoint.secret
    assert shown.startswith("whsec_")
    assert html.count(shown) == 1
    assert "only time the secret is shown" in html
    assert "ParkMe-Signature" in html
    assert reverse(ENDPOINT_CHANGE, args=[endpoint.pk]) in html
    assert "no-store" in response["Cache-Control"]
    assert shown not in str(response.cookies)
    # Never again: not on the endpoint's page, the list, the history or the next page.
    for name, args in (
        (ENDPOINT_CHANGE, [endpoint.pk]),
        (ENDPOINTS, None),
        ("admin:webhooks_webhookendpoint_history", [endpoint.pk]),
        ("admin:index", None),
    ):
        assert shown not in page(client, name, *(args or []))


def test_the_operator_is_preset_when_the_admin_has_one(operator_a, admin_a):
    response = client_for(admin_a).get(reverse(ENDPOINT_ADD))

    assert response.context["adminform"].form.initial["operator"] == operator_a.pk


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://hooks.example.com/parkme", "only https URLs are allowed"),
        ("https://10.0.0.5/parkme", "10.0.0.5 is a private address"),
        ("https://127.0.0.1/parkme", "127.0.0.1 is a loopback address"),
        ("https://[::1]/parkme", "::1 is a loopback address"),
        ("https://localhost/parkme", "localhost is a loopback address"),
        ("ftp://hooks.example.com/parkme", "the URL must be https://host/"),
    ],
    ids=["http", "private", "loopback", "ipv6-loopback", "localhost", "ftp"],
)
def test_a_refused_url_is_a_form_error_and_saves_nothing(url, expected, operator_a, admin_a):
    response = client_for(admin_a).post(reverse(ENDPOINT_ADD), endpoint_form(operator_a, url=url))

    errors = form_errors(response)
    assert list(errors) == ["url"]
    assert expected in " ".join(errors["url"])
    assert expected in response.content.decode()
    assert "secret" not in response.context
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False)
def test_changing_the_url_to_a_refused_one_changes_nothing(endpoint_a, admin_a):
    response = client_for(admin_a).post(
        reverse(ENDPOINT_CHANGE, args=[endpoint_a.pk]),
        endpoint_form(endpoint_a.operator, url="https://192.168.1.10/hook"),
    )

    assert "192.168.1.10 is a private address" in " ".join(form_errors(response)["url"])
    endpoint_a.refresh_from_db()
    assert endpoint_a.url == "https://hooks.a.test/parkme"


def test_an_endpoint_needs_at_least_one_event(operator_a, admin_a):
    response = client_for(admin_a).post(
        reverse(ENDPOINT_ADD), endpoint_form(operator_a, event_types=[])
    )

    assert form_errors(response)["event_types"] == ["Choose at least one event."]
    assert not WebhookEndpoint.objects.exists()


def test_the_change_page_shows_status_but_no_secret(endpoint_a, admin_a):
    WebhookEndpoint.objects.filter(pk=endpoint_a.pk).update(
        is_active=False,
        consecutive_failures=20,
        disabled_at=timezone.now(),
        disabled_reason="20 events in a row failed",
        previous_secret="whsec_previous-one",
        previous_secret_expires_at=timezone.now() + timedelta(hours=3),
    )
    endpoint_a.refresh_from_db()

    html = page(client_for(admin_a), ENDPOINT_CHANGE, endpoint_a.pk)

    assert "20 events in a row failed" in html
    assert "In progress: the previous secret also signs until" in html
    assert endpoint_a.secret not in html
    assert "whsec_previous-one" not in html
    assert 'name="consecutive_failures"' not in html  # read-only
    assert 'name="operator"' not in html  # an endpoint stays with its operator
    assert "Roll secret" in html
    assert "Send test event" in html


def test_reactivating_a_disabled_endpoint_starts_its_failures_afresh(endpoint_a, admin_a):
    WebhookEndpoint.objects.filter(pk=endpoint_a.pk).update(
        is_active=False, consecutive_failures=20, disabled_at=timezone.now(), disabled_reason="x"
    )

    response = client_for(admin_a).post(
        reverse(ENDPOINT_CHANGE, args=[endpoint_a.pk]),
        endpoint_form(endpoint_a.operator, url=endpoint_a.url, is_active="on"),
    )

    assert response.status_code == 302
    endpoint_a.refresh_from_db()
    assert (endpoint_a.is_active, endpoint_a.consecutive_failures, endpoint_a.disabled_at) == (
        True,
        0,
        None,
    )


# --- roll secret, send test event ---------------------------------------------------------


def test_roll_secret_shows_the_new_secret_once_and_the_old_one_keeps_signing(endpoint_a, admin_a):
    client = client_for(admin_a)
    old = endpoint_a.secret

    response = client.post(reverse(ROLL, args=[endpoint_a.pk]))

    assert response.status_code == 200
    endpoint_a.refresh_from_db()
    html = response.content.decode()
    assert response.context["secret"] == endpoint_a.secret != old
    assert html.count(endpoint_a.secret) == 1
    assert old not in html
    assert endpoint_a.previous_secret == old
    expected = timezone.now() + timedelta(hours=24)
    assert abs(endpoint_a.previous_secret_expires_at - expected) < timedelta(minutes=1)
    assert "The previous secret keeps signing" in html
    assert "only time the secret is shown" in html
    after = page(client, ENDPOINT_CHANGE, endpoint_a.pk)
    assert endpoint_a.secret not in after
    assert old not in after
    assert "In progress" in after


def test_roll_secret_takes_a_post(endpoint_a, admin_a):
    response = client_for(admin_a).get(reverse(ROLL, args=[endpoint_a.pk]))

    assert response.status_code == 405
    endpoint_a.refresh_from_db()
    assert endpoint_a.previous_secret == ""


def test_send_test_event_queues_a_test_delivery(endpoint_a, admin_a):
    client = client_for(admin_a)

    response = client.post(reverse(SEND_TEST, args=[endpoint_a.pk]), follow=True)

    queued = WebhookDelivery.objects.get()
    assert (queued.endpoint, queued.event_type, queued.status) == (
        endpoint_a,
        TEST_EVENT,
        DeliveryStatus.PENDING,
    )
    payload = json.loads(queued.payload)
    assert (payload["id"], payload["type"]) == (str(queued.event_id), TEST_EVENT)
    html = response.content.decode()
    assert "Queued a test event to https://hooks.a.test/parkme" in html
    assert f"?endpoint__id__exact={endpoint_a.pk}" in html


def test_send_test_event_as_an_action_on_several_endpoints(
    operator_a, endpoint_a, endpoint_for, admin_a
):
    other = endpoint_for(operator_a, "https://hooks.a.test/second")

    response = act(client_for(admin_a), ENDPOINTS, "send_test_event", endpoint_a, other)

    assert response.status_code == 302
    assert sorted(
        WebhookDelivery.objects.filter(event_type=TEST_EVENT).values_list("endpoint", flat=True)
    ) == sorted([endpoint_a.pk, other.pk])


# --- roles and tenancy --------------------------------------------------------------------


def test_admin_sees_the_webhooks_section(endpoint_a, admin_a):
    html = page(client_for(admin_a), "admin:index")

    assert "Webhook endpoints" in html
    assert "Webhook deliveries" in html


def test_attendant_gets_403_and_no_webhooks_section(endpoint_a, attendant_a):
    client = client_for(attendant_a)
    d = delivery(endpoint_a)

    index = page(client, "admin:index")

    assert "Webhook" not in index
    assert client.get(reverse("admin:app_list", args=["webhooks"])).status_code == 404
    assert client.get(reverse(ENDPOINTS)).status_code == 403
    assert client.get(reverse(ENDPOINT_ADD)).status_code == 403
    assert client.get(reverse(DELIVERIES)).status_code == 403
    client.post(reverse(ROLL, args=[endpoint_a.pk]))
    client.post(reverse(REDELIVER, args=[d.pk]))
    endpoint_a.refresh_from_db()
    assert endpoint_a.previous_secret == ""
    assert WebhookDelivery.objects.count() == 1


def test_devices_are_sent_to_the_login(endpoint_a, device_a):
    response = client_for(device_a).get(reverse(ENDPOINTS))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_another_operators_endpoint_is_invisible_and_answers_as_missing(
    endpoint_a, endpoint_b, admin_b
):
    client = client_for(admin_b)

    assert listed(client.get(reverse(ENDPOINTS))) == {endpoint_b.pk}
    assert "hooks.a.test" not in page(client, ENDPOINTS)
    for name in (ENDPOINT_CHANGE, "admin:webhooks_webhookendpoint_delete"):
        assert as_missing(client, reverse(name, args=[endpoint_a.pk])) == as_missing(
            client, reverse(name, args=[MISSING_ID])
        )


def test_another_operators_endpoint_cannot_be_changed_by_forged_posts(endpoint_a, admin_b):
    client = client_for(admin_b)
    before = WebhookEndpoint.objects.filter(pk=endpoint_a.pk).values().get()

    client.post(
        reverse(ENDPOINT_CHANGE, args=[endpoint_a.pk]),
        endpoint_form(endpoint_a.operator, url="https://evil.test/steal", is_active=""),
    )
    client.post(reverse(ROLL, args=[endpoint_a.pk]))
    client.post(reverse(SEND_TEST, args=[endpoint_a.pk]))
    client.post(
        reverse("admin:webhooks_webhookendpoint_delete", args=[endpoint_a.pk]), {"post": "yes"}
    )
    act(client, ENDPOINTS, "send_test_event", endpoint_a)
    act(client, ENDPOINTS, "delete_selected", endpoint_a)

    assert WebhookEndpoint.objects.filter(pk=endpoint_a.pk).values().get() == before
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_cannot_be_added_for_another_operator(operator_a, admin_b):
    response = client_for(admin_b).post(reverse(ENDPOINT_ADD), endpoint_form(operator_a))

    assert "Select a valid choice" in " ".join(form_errors(response)["operator"])
    assert not WebhookEndpoint.objects.exists()


def test_another_operators_deliveries_are_invisible_and_cannot_be_redelivered(
    endpoint_a, endpoint_b, admin_b
):
    client = client_for(admin_b)
    theirs = [delivery(endpoint_a), delivery(endpoint_a)]
    mine = delivery(endpoint_b)

    assert listed(client.get(reverse(DELIVERIES))) == {mine.pk}
    assert listed(client.get(reverse(DELIVERIES), {"endpoint__id__exact": endpoint_a.pk})) == set()
    assert listed(client.get(reverse(DELIVERIES), {"q": str(theirs[0].event_id)})) == set()
    assert as_missing(client, reverse(DELIVERY, args=[theirs[0].pk])) == as_missing(
        client, reverse(DELIVERY, args=[MISSING_ID])
    )
    act(client, DELIVERIES, "redeliver_selected", *theirs)
    client.post(reverse(REDELIVER, args=[theirs[0].pk]))

    assert WebhookDelivery.objects.count() == 3


# --- the deliveries -----------------------------------------------------------------------


def test_deliveries_filter_by_status_type_and_endpoint(
    operator_a, endpoint_a, endpoint_b, endpoint_for, admin_a
):
    second = endpoint_for(operator_a, "https://hooks.a.test/second")
    failed = delivery(endpoint_a, status=DeliveryStatus.FAILED)
    delivered = delivery(endpoint_a, status=DeliveryStatus.DELIVERED)
    permit = delivery(second, event_type=EventType.PERMIT_CREATED, status=DeliveryStatus.PENDING)
    delivery(endpoint_b)
    client = client_for(admin_a)
    url = reverse(DELIVERIES)

    assert listed(client.get(url)) == {failed.pk, delivered.pk, permit.pk}
    assert listed(client.get(url, {"status__exact": "failed"})) == {failed.pk}
    assert listed(client.get(url, {"status__exact": "delivered"})) == {delivered.pk}
    assert listed(client.get(url, {"event_type": "permit.created"})) == {permit.pk}
    assert listed(client.get(url, {"event_type": "booking.created"})) == {failed.pk, delivered.pk}
    assert listed(client.get(url, {"endpoint__id__exact": second.pk})) == {permit.pk}
    html = page(client, DELIVERIES)
    assert f"endpoint__id__exact={endpoint_a.pk}" in html
    assert f"endpoint__id__exact={second.pk}" in html
    assert f"endpoint__id__exact={endpoint_b.pk}" not in html
    assert "hooks.b.test" not in html
    assert "event_type=webhook.test" in html


def test_the_endpoint_list_links_to_its_deliveries(endpoint_a, admin_a):
    html = page(client_for(admin_a), ENDPOINTS)

    assert f"{reverse(DELIVERIES)}?endpoint__id__exact={endpoint_a.pk}" in html
    assert "booking.created" in html


def test_deliveries_are_searched_by_event_id(endpoint_a, admin_a):
    wanted, other = delivery(endpoint_a), delivery(endpoint_a)
    client = client_for(admin_a)

    assert listed(client.get(reverse(DELIVERIES), {"q": str(wanted.event_id)})) == {wanted.pk}
    assert listed(client.get(reverse(DELIVERIES), {"q": "not-an-id"})) == set()
    assert other.pk in listed(client.get(reverse(DELIVERIES), {"q": ""}))


def test_the_delivery_list_shows_its_columns(endpoint_a, admin_a):
    d = delivery(
        endpoint_a,
        attempts=3,
        response_status=503,
        latency_ms=1234,
        last_error="HTTP 503 " + "x" * 200,
        last_attempt_at=timezone.now(),
    )

    html = page(client_for(admin_a), DELIVERIES)

    for text in (str(d.event_id), "https://hooks.a.test/parkme", "503", "1234", "Failed"):
        assert text in html
    assert "x" * 200 not in html  # the error is shortened
    assert "HTTP 503 xxx" in html


def test_a_delivery_page_is_read_only_with_its_payload_pretty_printed(endpoint_a, admin_a):
    first = delivery(endpoint_a, response_excerpt="<html>Service Unavailable</html>")
    again = WebhookDelivery.objects.create(
        endpoint=endpoint_a,
        event_id=first.event_id,
        event_type=first.event_type,
        payload=first.payload,
        retry_until=first.retry_until,
        redelivery_of=first,
    )

    html = page(client_for(admin_a), DELIVERY, again.pk)
    first_html = page(client_for(admin_a), DELIVERY, first.pk)

    assert "<pre" in html
    assert json.dumps(json.loads(again.payload), indent=2).replace('"', "&quot;") in html
    assert reverse(DELIVERY, args=[first.pk]) in html  # redelivery of
    assert reverse(ENDPOINT_CHANGE, args=[endpoint_a.pk]) in html
    assert 'name="_save"' not in html
    assert 'name="payload"' not in html
    assert "&lt;html&gt;Service Unavailable&lt;/html&gt;" in first_html
    assert "Redeliver" in html


def test_redeliver_two_deliveries_from_the_list(endpoint_a, endpoint_for, operator_a, admin_a):
    other = endpoint_for(operator_a, "https://hooks.a.test/second")
    old = [
        delivery(endpoint_a, status=DeliveryStatus.FAILED, attempts=7, last_error="timeout"),
        delivery(other, status=DeliveryStatus.DELIVERED, attempts=1, response_status=200),
    ]
    untouched = delivery(endpoint_a)
    before = {d.pk: WebhookDelivery.objects.filter(pk=d.pk).values().get() for d in old}
    client = client_for(admin_a)

    response = act(client, DELIVERIES, "redeliver_selected", *old)

    assert response.status_code == 302
    assert "Queued 2 event(s) again" in client.get(response.url).content.decode()
    new = WebhookDelivery.objects.exclude(pk__in=[*before, untouched.pk]).order_by("id")
    assert [(d.redelivery_of_id, d.endpoint_id) for d in new] == [
        (old[0].pk, endpoint_a.pk),
        (old[1].pk, other.pk),
    ]
    for row in new:
        original = row.redelivery_of
        assert (row.event_id, row.event_type, row.payload) == (
            original.event_id,
            original.event_type,
            original.payload,
        )
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.PENDING, 0, "")
    for pk, values in before.items():
        assert WebhookDelivery.objects.filter(pk=pk).values().get() == values
    assert not WebhookDelivery.objects.filter(redelivery_of=untouched).exists()


def test_redeliver_from_the_delivery_page(endpoint_a, admin_a):
    old = delivery(endpoint_a, status=DeliveryStatus.FAILED, attempts=5)
    before = WebhookDelivery.objects.filter(pk=old.pk).values().get()
    client = client_for(admin_a)

    response = client.post(reverse(REDELIVER, args=[old.pk]))

    new = WebhookDelivery.objects.get(redelivery_of=old)
    assert response.status_code == 302
    assert response.url == reverse(DELIVERY, args=[new.pk])
    assert (new.event_id, new.payload, new.status, new.endpoint_id) == (
        old.event_id,
        old.payload,
        DeliveryStatus.PENDING,
        endpoint_a.pk,
    )
    assert WebhookDelivery.objects.filter(pk=old.pk).values().get() == before
    assert "queued again as" in client.get(response.url).content.decode()
    assert client.get(reverse(REDELIVER, args=[old.pk])).status_code == 405


def test_nobody_adds_changes_or_deletes_deliveries(endpoint_a, admin_a):
    d = delivery(endpoint_a)
    client = client_for(admin_a)

    assert client.get(reverse("admin:webhooks_webhookdelivery_add")).status_code == 403
    delete = reverse("admin:webhooks_webhookdelivery_delete", args=[d.pk])
    assert client.get(delete).status_code == 403
    client.post(reverse(DELIVERY, args=[d.pk]), {"status": "delivered"})
    assert "delete_selected" not in page(client, DELIVERIES)
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED


def test_admin_deletes_an_endpoint_with_its_deliveries(endpoint_a, admin_a):
    delivery(endpoint_a)
    delivery(endpoint_a)
    client = client_for(admin_a)
    url = reverse("admin:webhooks_webhookendpoint_delete", args=[endpoint_a.pk])

    confirm = page(client, "admin:webhooks_webhookendpoint_delete", endpoint_a.pk)
    response = client.post(url, {"post": "yes"})

    assert "2 webhook deliveries" in confirm
    assert "permission" not in confirm
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


# --- query counts -------------------------------------------------------------------------


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("changelist", [ENDPOINTS, DELIVERIES])
def test_changelist_queries_do_not_grow_with_rows(
    changelist: str,
    operator_a,
    endpoint_for: Callable[..., WebhookEndpoint],
    admin_a,
):
    client = client_for(admin_a)
    url = reverse(changelist)
    first = endpoint_for(operator_a, "https://hooks.a.test/0")
    delivery(first, response_status=500, last_error="boom")
    client.get(url)  # warm-up: sessions, content types

    one = queries(client, url)
    for n in range(1, 10):
        endpoint = endpoint_for(operator_a, f"https://hooks.a.test/{n}")
        delivery(endpoint, response_status=500, last_error="boom")
    ten = queries(client, url)

    assert len(listed(client.get(url))) == 10
    assert ten == one
