"""Every change the design lists becomes an event for the endpoints that subscribe to it,
written in the change's own transaction, with the resource as the API shows it (no plates
outside gate events)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.permit_sweeps import permit_sweep_run
from bookings.services import BookingRequest, booking_create
from bookings.states import BookingStatus
from bookings.sweeps import sweep_run
from parkme.webhooks.events import EventType
from parkme.webhooks.models import WebhookDelivery
from tests import factories
from tests.api.conftest import api_client_for, booking_body
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/parkme"


def events(endpoint=None) -> list[tuple[str, dict]]:
    rows = WebhookDelivery.objects.order_by("id")
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    return [(row.event_type, json.loads(row.payload)) for row in rows]


def types(endpoint=None) -> list[str]:
    return [t for t, _ in events(endpoint)]


def soon(minutes=30):
    return (timezone.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


@pytest.fixture
def hooked(garage):
    return make_endpoint(garage.operator, URL)


def test_a_booking_made_in_the_api_sends_created_and_confirmed_with_the_api_json(
    as_user, alice, alice_car, garage, hooked
):
    r = as_user(alice).post(
        "/api/v1/bookings/", booking_body(garage, alice_car, soon(120)), format="json"
    )
    assert r.status_code == 201
    shown = r.json()

    (created, first), (confirmed, second) = events()
    assert (created, confirmed) == ("booking.created", "booking.confirmed")
    assert first["id"] != second["id"]
    assert first["operator"] == garage.operator.slug
    assert first["api_version"] == "v1"
    # The API's JSON, the vehicle without its plate.
    assert shown["vehicle"]["plate"] == "ALC-111"
    expected = {**shown, "vehicle": {"id": alice_car.id}}
    assert first["data"] == expected
    assert second["data"] == expected
    assert "ALC" not in json.dumps(first)


def test_each_booking_move_sends_its_event(as_user, alice, alice_car, garage, hooked, device_of):
    client = as_user(alice)
    held = client.post(
        "/api/v1/bookings/", booking_body(garage, alice_car, soon(10), hold=True), format="json"
    ).json()
    client.post(f"/api/v1/bookings/{held['id']}/confirm/")
    client.post(
        f"/api/v1/bookings/{held['id']}/extend/",
        {"ends_at": (soon(10) + timedelta(hours=3)).isoformat()},
        format="json",
    )
    gate = api_client_for(device_of(garage.operator))
    for direction in ("entry", "exit"):
        r = gate.post(
            "/api/v1/operator/gate-events/",
            {"facility": garage.id, "plate": "alc 111", "direction": direction},
            format="json",
        )
        assert r.json()["action"] == "open"
    other = client.post(
        "/api/v1/bookings/", booking_body(garage, alice_car, soon(600)), format="json"
    ).json()
    client.post(f"/api/v1/bookings/{other['id']}/cancel/", {"reason": "no"}, format="json")

    assert types() == [
        "booking.created",
        "booking.confirmed",
        "booking.extended",
        "booking.checked_in",
        "gate.entry",
        "booking.checked_out",
        "gate.exit",
        "booking.created",
        "booking.confirmed",
        "booking.cancelled",
    ]
    by_type = {t: payload["data"] for t, payload in events()}
    assert by_type["booking.checked_in"]["status"] == "active"
    assert by_type["booking.checked_out"]["status"] == "completed"
    assert by_type["booking.cancelled"]["refund_due"] == by_type["booking.cancelled"]["price"]
    gate_entry = by_type["gate.entry"]
    assert gate_entry["plate"] == "ALC111"  # plates appear in gate events only
    assert gate_entry["direction"] == "entry"
    assert gate_entry["action"] == "open"
    assert gate_entry["reason"] == "checked_in"
    assert gate_entry["booking"]["id"] == held["id"]
    assert gate_entry["facility"] == {
        "id": garage.id,
        "name": "Kamppi",
        "timezone": garage.timezone,
    }
    for t, payload in events():
        if not t.startswith("gate."):
            assert "ALC" not in json.dumps(payload), t


def test_a_denied_gate_event_is_reported_too(garage, hooked, device_of):
    gate = api_client_for(device_of(garage.operator))
    gate.post(
        "/api/v1/operator/gate-events/",
        {"facility": garage.id, "plate": "zz 999", "direction": "entry"},
        format="json",
    )
    ((kind, payload),) = events()
    assert kind == "gate.entry"
    assert payload["data"]["action"] == "deny"
    assert payload["data"]["reason"] == "no_booking"
    assert payload["data"]["booking"] is None


def test_sweeps_report_expiries_and_overstays(garage, hooked):
    spot = garage.spots.first()
    now = timezone.now()
    held = factories.BookingFactory(
        spot=spot,
        status=BookingStatus.HELD,
        starts_at=now + timedelta(hours=5),
        ends_at=now + timedelta(hours=6),
    )
    Booking.objects.filter(pk=held.pk).update(hold_expires_at=now - timedelta(minutes=1))
    overstaying = factories.BookingFactory(
        spot=garage.spots.last(),
        status=BookingStatus.ACTIVE,
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=1),
    )

    sweep_run("expire_holds")
    sweep_run("flag_overstays")
    sweep_run("flag_overstays")  # once per booking

    assert types() == ["booking.expired", "booking.overstay"]
    (_, expired), (_, overstay) = events()
    assert expired["data"]["id"] == str(held.public_id)
    assert expired["data"]["status"] == "expired"
    assert overstay["data"]["id"] == str(overstaying.public_id)
    assert overstay["data"]["vehicle"] == {"id": overstaying.vehicle_id}


def test_permits_report_created_cancelled_renewed_and_expired(as_user, alice, garage, hooked):
    product = factories.permit_product(garage, name="Commuter")
    today = timezone.now().astimezone(garage.tz).date()
    r = as_user(alice).post(
        "/api/v1/permits/",
        {"product": product.id, "plates": ["abc-123"], "valid_from": today.isoformat()},
        format="json",
    )
    assert r.status_code == 201
    shown = r.json()
    renewing = factories.permit(product, plates=("REN-1",), valid_from=today)
    as_user(alice).post(f"/api/v1/permits/{shown['id']}/cancel/")

    valid_to = renewing.valid_to
    permit_sweep_run("renew_permits", now=valid_to - timedelta(hours=1))
    permit_sweep_run("expire_permits", now=valid_to + timedelta(minutes=1))

    assert types() == [
        "permit.created",
        "permit.created",
        "permit.cancelled",
        "permit.renewed",
        "permit.expired",
    ]
    payloads = [p for _, p in events()]
    expected = {k: v for k, v in shown.items() if k != "plates"}
    assert payloads[0]["data"] == expected
    assert payloads[2]["data"]["status"] == "cancelled"
    assert payloads[3]["data"]["id"] == str(renewing.public_id)
    assert payloads[3]["data"]["valid_from"].startswith(str(valid_to.astimezone(garage.tz).date()))
    assert payloads[4]["data"]["id"] == shown["id"]
    assert payloads[4]["data"]["status"] == "expired"
    for payload in payloads:
        assert "plates" not in payload["data"]
        assert "ABC" not in json.dumps(payload)
        assert "REN" not in json.dumps(payload)


def test_only_subscribed_active_endpoints_of_the_operator_get_rows(
    as_user, alice, alice_car, garage
):
    mine = make_endpoint(garage.operator, URL, types=[EventType.BOOKING_CONFIRMED])
    make_endpoint(garage.operator, URL + "/off", is_active=False)
    make_endpoint(garage.operator, URL + "/gates", types=[EventType.GATE_ENTRY])
    elsewhere = factories.FacilityFactory()
    theirs = make_endpoint(elsewhere.operator, URL)

    as_user(alice).post(
        "/api/v1/bookings/", booking_body(garage, alice_car, soon(120)), format="json"
    )

    assert types(mine) == ["booking.confirmed"]
    assert WebhookDelivery.objects.count() == 1
    assert types(theirs) == []


def test_two_endpoints_get_the_same_event_id(as_user, alice, alice_car, garage):
    a = make_endpoint(garage.operator, URL + "/a", types=[EventType.BOOKING_CREATED])
    b = make_endpoint(garage.operator, URL + "/b", types=[EventType.BOOKING_CREATED])
    as_user(alice).post(
        "/api/v1/bookings/", booking_body(garage, alice_car, soon(120)), format="json"
    )
    ((_, on_a),), ((_, on_b),) = events(a), events(b)
    assert on_a == on_b


def test_a_rolled_back_change_writes_no_event(alice, alice_car, garage, hooked):
    start = soon(120)
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the point
        booking_create(
            driver=alice,
            request=BookingRequest(
                facility_id=garage.id,
                vehicle_id=alice_car.id,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
            ),
        )
        assert WebhookDelivery.objects.count() == 2  # written with the booking...
        raise RuntimeError("the caller's transaction fails later")
    assert WebhookDelivery.objects.count() == 0  # ...and gone with it
    assert not Booking.objects.exists()


def test_a_refused_booking_writes_no_event(as_user, alice, alice_car, garage, hooked):
    past = timezone.now() - timedelta(days=1)
    r = as_user(alice).post(
        "/api/v1/bookings/", booking_body(garage, alice_car, past), format="json"
    )
    assert r.status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_without_endpoints_a_booking_costs_one_query_more(
    as_user, alice, alice_car, garage, django_assert_num_queries
):
    client = as_user(alice)
    client.post("/api/v1/bookings/", booking_body(garage, alice_car, soon(120)), format="json")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.post("/api/v1/bookings/", booking_body(garage, alice_car, soon(600)), format="json")
    asked = [q["sql"] for q in queries.captured_queries if "webhooks_webhookendpoint" in q["sql"]]
    assert len(asked) == 1  # "who subscribes?", answered by the partial index
    assert not WebhookDelivery.objects.exists()


def test_first_day_of_a_permit_event_is_the_local_date(as_user, alice, garage, hooked):
    product = factories.permit_product(garage, name="Nights")
    start = timezone.now().astimezone(garage.tz).date() + timedelta(days=3)
    as_user(alice).post(
        "/api/v1/permits/",
        {"product": product.id, "plates": ["x-1"], "valid_from": start.isoformat()},
        format="json",
    )
    ((_, payload),) = events()
    assert payload["data"]["valid_from"].startswith(start.isoformat())


def test_with_a_subscribed_endpoint_a_booking_costs_one_insert_more(
    as_user, alice, alice_car, garage, hooked, django_assert_max_num_queries
):
    client = as_user(alice)
    # The API's pinned 11 (tests/api), and the one insert of both events' rows.
    with django_assert_max_num_queries(12):
        r = client.post(
            "/api/v1/bookings/", booking_body(garage, alice_car, soon(120)), format="json"
        )
    assert r.status_code == 201
    assert WebhookDelivery.objects.count() == 2


def _expired_holds(garage, n):
    now = timezone.now()
    spots = [factories.SpotFactory(zone=garage.zones.first()) for _ in range(n)]
    bookings = [
        factories.BookingFactory(
            spot=spot,
            status=BookingStatus.HELD,
            starts_at=now + timedelta(hours=5),
            ends_at=now + timedelta(hours=6),
        )
        for spot in spots
    ]
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(
        hold_expires_at=now - timedelta(minutes=1)
    )


def test_a_sweep_reports_a_batch_in_the_same_queries_whatever_its_size(garage, hooked):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (3, 30):
        _expired_holds(garage, n)
        with CaptureQueriesContext(connection) as queries:
            assert sweep_run("expire_holds").count == n
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
    assert WebhookDelivery.objects.filter(event_type="booking.expired").count() == 33
