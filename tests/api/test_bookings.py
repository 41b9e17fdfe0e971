"""Booking as a driver's app does it: create, hold/confirm, transitions, listing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingEvent, Notification, NotificationKind
from bookings.services import booking_check_in
from bookings.states import BookingStatus
from tests.api.conftest import booking_body, tomorrow_at
from tests.factories import BookingFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def _book(client, facility, vehicle, start, hours=2, **extra):
    return client.post(
        "/api/v1/bookings/", booking_body(facility, vehicle, start, hours, **extra), format="json"
    )


def test_booking_assigns_a_spot_prices_it_and_records_event_and_notification(
    as_user, alice, alice_car, garage
):
    r = _book(as_user(alice), garage, alice_car, tomorrow_at(9), hours=2)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == BookingStatus.CONFIRMED
    assert body["spot"]["code"] in {"S1", "S2", "S3"}
    assert body["price"] == "6.00"
    assert body["currency"] == "EUR"
    assert len(body["reference"]) == 8
    assert len(body["access_code"]) == 6
    booking = Booking.objects.get(public_id=body["id"])
    assert list(booking.events.values_list("from_status", "to_status")) == [
        ("", BookingStatus.CONFIRMED)
    ]
    assert list(booking.notifications.values_list("kind", "status")) == [
        (BookingStatus.CONFIRMED, "pending")
    ]


def test_spot_kind_picks_that_kind(as_user, alice, garage):
    ev = VehicleFactory(owner=alice, plate="EV-1", is_ev=True)
    r = _book(as_user(alice), garage, ev, tomorrow_at(9), spot_kind="ev")
    assert r.status_code == 201
    assert r.json()["spot"]["code"] == "E1"


def test_when_every_spot_of_the_kind_is_taken_the_answer_is_409_no_availability(
    as_user, alice, garage
):
    start = tomorrow_at(9)
    BookingFactory(spot=garage.spots.get(code="E1"), starts_at=start)
    ev = VehicleFactory(owner=alice, plate="EV-1")
    r = _book(as_user(alice), garage, ev, start, spot_kind="ev")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_availability"
    assert not Booking.objects.filter(driver=alice).exists()


def test_a_motorcycle_cannot_be_put_on_an_ev_spot(as_user, alice, garage):
    moto = VehicleFactory(owner=alice, plate="MC-1", kind="motorcycle")
    r = _book(as_user(alice), garage, moto, tomorrow_at(9), spot_kind="ev")
    assert r.status_code == 400
    assert "spot_kind" in r.json()["error"]["fields"]
    r = _book(as_user(alice), garage, moto, tomorrow_at(9))
    assert r.status_code == 201
    assert r.json()["spot"]["kind"] == "motorcycle"


def test_hold_then_confirm(as_user, alice, alice_car, garage):
    client = as_user(alice)
    r = _book(client, garage, alice_car, tomorrow_at(9), hold=True)
    assert r.status_code == 201
    held = r.json()
    assert held["status"] == BookingStatus.HELD
    assert held["hold_expires_at"] is not None
    assert not Notification.objects.exists()  # nothing to announce until confirmed
    r = client.post(f"/api/v1/bookings/{held['id']}/confirm/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == BookingStatus.CONFIRMED
    assert r.json()["hold_expires_at"] is None
    assert Notification.objects.filter(kind=NotificationKind.CONFIRMED).count() == 1


def test_an_expired_hold_cannot_be_confirmed(as_user, alice, alice_car, garage):
    booking = BookingFactory(
        spot=garage.spots.first(),
        vehicle=alice_car,
        status=BookingStatus.HELD,
        hold_expires_at=timezone.now() - timedelta(seconds=1),
    )
    r = as_user(alice).post(f"/api/v1/bookings/{booking.public_id}/confirm/")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.HELD


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (BookingStatus.CONFIRMED, "confirm"),
        (BookingStatus.ACTIVE, "cancel"),
        (BookingStatus.COMPLETED, "check-in"),
        (BookingStatus.CANCELLED, "extend"),
        (BookingStatus.CONFIRMED, "check-out"),
        (BookingStatus.EXPIRED, "confirm"),
    ],
)
def test_illegal_transitions_are_409_invalid_transition_and_change_nothing(
    as_user, alice, alice_car, garage, status, action
):
    booking = BookingFactory(spot=garage.spots.first(), vehicle=alice_car, status=status)
    events = BookingEvent.objects.count()
    body = (
        {"ends_at": (booking.ends_at + timedelta(hours=1)).isoformat()}
        if action == "extend"
        else {}
    )
    r = as_user(alice).post(f"/api/v1/bookings/{booking.public_id}/{action}/", body, format="json")
    assert r.status_code == 409, r.content
    assert r.json()["error"]["code"] == "invalid_transition"
    booking.refresh_from_db()
    assert booking.status == status
    assert BookingEvent.objects.count() == events


def test_cancel_before_start_is_free_and_frees_the_spot(
    as_user, alice, alice_car, bob, bob_car, garage
):
    start = tomorrow_at(9)
    garage.spots.exclude(code="S1").update(is_active=False)
    booking = _book(as_user(alice), garage, alice_car, start).json()
    assert _book(as_user(bob), garage, bob_car, start).status_code == 409
    r = as_user(alice).post(
        f"/api/v1/bookings/{booking['id']}/cancel/", {"reason": "plans changed"}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["status"] == BookingStatus.CANCELLED
    # The board lets drivers cancel free until the start: all of the price is due back.
    assert (r.json()["cancellation_fee"], r.json()["refund_due"]) == ("0.00", r.json()["price"])
    assert Notification.objects.filter(kind=NotificationKind.CANCELLED).count() == 1
    assert BookingEvent.objects.filter(
        to_status=BookingStatus.CANCELLED, reason="plans changed"
    ).exists()
    assert _book(as_user(bob), garage, bob_car, start).status_code == 201


def test_extend_moves_the_end_and_reprices(as_user, alice, alice_car, garage):
    start = tomorrow_at(9)
    booking = _book(as_user(alice), garage, alice_car, start, hours=2).json()
    r = as_user(alice).post(
        f"/api/v1/bookings/{booking['id']}/extend/",
        {"ends_at": (start + timedelta(hours=4)).isoformat()},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["price"] == "12.00"


def test_extend_fails_with_409_when_the_spot_is_taken_after_the_current_end(
    as_user, alice, alice_car, bob_car, garage
):
    start = tomorrow_at(9)
    booking = _book(as_user(alice), garage, alice_car, start, hours=2).json()
    spot = Booking.objects.get(public_id=booking["id"]).spot
    BookingFactory(spot=spot, vehicle=bob_car, starts_at=start + timedelta(hours=3))
    r = as_user(alice).post(
        f"/api/v1/bookings/{booking['id']}/extend/",
        {"ends_at": (start + timedelta(hours=4)).isoformat()},
        format="json",
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_availability"
    refreshed = Booking.objects.get(public_id=booking["id"])
    assert refreshed.ends_at == start + timedelta(hours=2)
    assert refreshed.price == Decimal("6.00")


def test_check_in_window_opens_15_minutes_before_start(as_user, alice, alice_car, garage):
    now = timezone.now()
    soon = BookingFactory(
        spot=garage.spots.get(code="S1"),
        vehicle=alice_car,
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(hours=2),
    )
    later = BookingFactory(
        spot=garage.spots.get(code="S2"),
        vehicle=VehicleFactory(owner=alice, plate="L8R"),
        starts_at=now + timedelta(minutes=30),
        ends_at=now + timedelta(hours=2),
    )
    client = as_user(alice)
    r = client.post(f"/api/v1/bookings/{later.public_id}/check-in/")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"
    r = client.post(f"/api/v1/bookings/{soon.public_id}/check-in/")
    assert r.status_code == 200
    assert r.json()["status"] == BookingStatus.ACTIVE
    assert r.json()["checked_in_at"] is not None


def test_check_out_after_end_plus_grace_charges_overstay(alice, alice_car, garage, as_user):
    now = timezone.now()
    booking = BookingFactory(
        spot=garage.spots.get(code="S1"),
        vehicle=alice_car,
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(minutes=90),
    )
    Booking.objects.filter(pk=booking.pk).update(
        status=BookingStatus.ACTIVE, checked_in_at=now - timedelta(hours=3)
    )
    r = as_user(alice).post(f"/api/v1/bookings/{booking.public_id}/check-out/")
    assert r.status_code == 200
    assert r.json()["status"] == BookingStatus.COMPLETED
    assert r.json()["overstay_fee"] == "6.00"  # 90 min past the end: 2 started hours


def test_check_out_within_grace_is_free(alice, alice_car, garage, as_user):
    now = timezone.now()
    booking = BookingFactory(
        spot=garage.spots.get(code="S1"),
        vehicle=alice_car,
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(minutes=10),
    )
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.ACTIVE)
    r = as_user(alice).post(f"/api/v1/bookings/{booking.public_id}/check-out/")
    assert r.json()["overstay_fee"] == "0.00"


def test_an_active_booking_cannot_be_cancelled(alice, alice_car, garage, as_user):
    now = timezone.now()
    booking = BookingFactory(
        spot=garage.spots.first(),
        vehicle=alice_car,
        starts_at=now + timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    booking_check_in(booking=booking, actor=alice)
    r = as_user(alice).post(f"/api/v1/bookings/{booking.public_id}/cancel/")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"


def test_list_filters_by_status_and_local_date(as_user, alice, alice_car, garage):
    d1 = tomorrow_at(9)
    b1 = BookingFactory(spot=garage.spots.get(code="S1"), vehicle=alice_car, starts_at=d1)
    b2 = BookingFactory(
        spot=garage.spots.get(code="S2"),
        vehicle=alice_car,
        starts_at=d1 + timedelta(days=2),
        status=BookingStatus.CANCELLED,
    )
    client = as_user(alice)
    ids = lambda r: [b["id"] for b in r.json()["results"]]  # noqa: E731
    assert ids(client.get("/api/v1/bookings/")) == [str(b2.public_id), str(b1.public_id)]
    assert ids(client.get("/api/v1/bookings/", {"status": BookingStatus.CONFIRMED})) == [
        str(b1.public_id)
    ]
    local_day = d1.astimezone(garage.tz).date()
    r = client.get(
        "/api/v1/bookings/", {"date_from": local_day.isoformat(), "date_to": local_day.isoformat()}
    )
    assert ids(r) == [str(b1.public_id)]
    assert client.get("/api/v1/bookings/", {"status": "lost"}).status_code == 400


def test_booking_list_query_count_is_constant(
    as_user, alice, garage, django_assert_max_num_queries
):
    start = tomorrow_at(1)
    for n in range(25):
        BookingFactory(
            spot=garage.spots.get(code="S1"),
            vehicle=VehicleFactory(owner=alice),
            starts_at=start + timedelta(hours=3 * n),
        )
    client = as_user(alice)
    for size in (1, 25):
        with django_assert_max_num_queries(3):
            r = client.get("/api/v1/bookings/", {"page_size": size})
        assert len(r.json()["results"]) == size


def test_booking_create_query_count_is_pinned(
    as_user, alice, alice_car, garage, django_assert_max_num_queries
):
    client = as_user(alice)
    # 10, and 1 asking which webhook endpoints subscribe (none here: nothing more).
    with django_assert_max_num_queries(11):
        r = _book(client, garage, alice_car, tomorrow_at(9))
    assert r.status_code == 201


def test_driver_cap_of_five_live_bookings(as_user, alice, garage):
    client = as_user(alice)
    start = tomorrow_at(1)
    for n in range(5):
        v = VehicleFactory(owner=alice, plate=f"CAP{n}")
        assert _book(client, garage, v, start + timedelta(hours=3 * n)).status_code == 201
    v = VehicleFactory(owner=alice, plate="CAP9")
    r = _book(client, garage, v, start + timedelta(days=2))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "booking_limit_reached"


def test_one_vehicle_cannot_be_booked_twice_at_once(as_user, alice, alice_car, garage):
    client = as_user(alice)
    start = tomorrow_at(9)
    assert _book(client, garage, alice_car, start).status_code == 201
    r = _book(client, garage, alice_car, start + timedelta(hours=1))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "vehicle_busy"


def test_idempotency_key_returns_the_same_booking_and_refuses_another_body(
    as_user, alice, alice_car, garage
):
    client = as_user(alice)
    body = booking_body(garage, alice_car, tomorrow_at(9))
    first = client.post("/api/v1/bookings/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    again = client.post("/api/v1/bookings/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = client.post(
        "/api/v1/bookings/", {**body, "hold": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-123"
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Booking.objects.filter(driver=alice).count() == 1
