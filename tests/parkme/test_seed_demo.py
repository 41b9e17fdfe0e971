import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from bookings.dashboard import dashboard_context
from bookings.demo import demo_seed
from bookings.demo_bookings import PLAN, demo_anchor, demo_bookings
from bookings.models import (
    Booking,
    BookingEvent,
    GateEvent,
    Notification,
    NotificationKind,
    Permit,
    PermitEvent,
    PermitHours,
    PermitProduct,
)
from bookings.permits import permit_is_valid_at
from bookings.services import BookingRequest, booking_create
from facilities.models import Facility, RateVersion, Spot, Zone
from parkme.devreceiver import demo_receiver_url
from parkme.models import Membership, Operator, User
from parkme.webhooks.delivery import endpoint_deliver
from parkme.webhooks.events import EventType
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from parkme.webhooks.signing import signature_header
from vehicles.models import Vehicle

pytestmark = pytest.mark.django_db

MODELS = [
    Operator,
    User,
    Membership,
    Facility,
    Zone,
    Spot,
    RateVersion,
    Vehicle,
    Booking,
    PermitProduct,
    PermitHours,
    Permit,
    PermitEvent,
    Notification,
    BookingEvent,
    GateEvent,
    WebhookEndpoint,
]


def _snapshot():
    return {m.__name__: sorted(m.objects.values_list("pk", flat=True)) for m in MODELS}


def test_seed_demo_twice_leaves_the_same_rows(capsys):
    now = timezone.now().isoformat()
    call_command("seed_demo", now=now)
    first = _snapshot()
    call_command("seed_demo", now=now)
    assert _snapshot() == first
    # The permits and the bookings are part of what a re-run must not duplicate.
    assert first["Permit"]
    assert len(first["Booking"]) == len(PLAN)  # every planned booking, none left out
    out = capsys.readouterr().out
    assert "driver@parkme.demo" in out
    assert "driver2@parkme.demo" in out


def test_seed_demo_creates_the_contract_logins_and_facilities():
    call_command("seed_demo")
    central = Operator.objects.get(name="Demo Central Parking")
    harbor = Operator.objects.get(name="Demo Harbor Garages")
    assert Facility.objects.filter(operator=central).count() == 2
    assert Facility.objects.filter(operator=harbor).count() == 2
    assert set(Spot.objects.values_list("kind", flat=True)) == {
        "standard",
        "compact",
        "ev",
        "accessible",
        "motorcycle",
    }
    assert 200 <= Spot.objects.count() <= 1000
    # Each facility: the board in force and the next one, scheduled.
    assert RateVersion.objects.count() == 8
    for facility in Facility.objects.all():
        assert 60.1 < facility.latitude < 60.25
        assert 24.8 < facility.longitude < 25.1
    roles = {
        (m.user.email, m.operator.name, m.role)
        for m in Membership.objects.select_related("user", "operator")
    }
    assert roles == {
        ("admin@central.demo", "Demo Central Parking", "admin"),
        ("attendant@central.demo", "Demo Central Parking", "attendant"),
        ("gate@central.demo", "Demo Central Parking", "device"),
        ("admin@harbor.demo", "Demo Harbor Garages", "admin"),
    }
    ops = User.objects.get(email="ops@parkme.demo")
    assert ops.is_superuser
    assert ops.check_password("parkme-demo")
    driver = User.objects.get(email="driver@parkme.demo")
    assert driver.check_password("parkme-demo")
    assert not driver.is_staff
    assert driver.vehicles.filter(is_active=True).count() == 1
    assert User.objects.get(email="gate@central.demo").is_staff is False
    assert User.objects.get(email="attendant@central.demo").is_staff is True


def test_seed_demo_sells_commuter_and_resident_permits_at_one_central_facility():
    call_command("seed_demo")

    products = {p.name: p for p in PermitProduct.objects.select_related("facility")}
    assert set(products) == {"Commuter", "Resident"}
    assert {p.facility.slug for p in products.values()} == {"kamppi-center"}
    assert products["Commuter"].facility.operator.name == "Demo Central Parking"
    assert [(h.weekdays, str(h.starts), str(h.ends)) for h in products["Commuter"].hours.all()] == [
        ([0, 1, 2, 3, 4], "06:00:00", "20:00:00")
    ]
    assert [(h.weekdays, str(h.starts), str(h.ends)) for h in products["Resident"].hours.all()] == [
        ([0, 1, 2, 3, 4, 5, 6], "17:00:00", "09:00:00")
    ]
    driver = User.objects.get(email="driver@parkme.demo")
    car = driver.vehicles.get(is_active=True)
    mine = Permit.objects.get(holder=driver)
    assert (mine.product.name, mine.plates_normalized) == ("Commuter", [car.plate_normalized])
    assert mine.recipient == "driver@parkme.demo"
    fleet = Permit.objects.get(holder=None, product__name="Commuter")
    assert fleet.company_name
    assert fleet.recipient == fleet.contact_email
    for permit in Permit.objects.all():
        assert permit_is_valid_at(permit, permit.valid_from)
        assert permit.events.get().actor.email == "admin@central.demo"
        # Each holder is told, through the outbox like any permit sale.
        assert permit.notifications.get().kind == NotificationKind.PERMIT_CREATED


@override_settings(PARKME_ENVIRONMENT="production")
def test_seed_demo_refuses_production_settings():
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
    assert not Operator.objects.exists()


# --- the demo's bookings, around the current time ---------------------------------------------


def _kamppi() -> Facility:
    return Facility.objects.get(slug="kamppi-center")


def _moves(booking: Booking) -> list[tuple[str, str]]:
    return [(e.from_status, e.to_status) for e in booking.events.order_by("at", "id")]


def test_demo_bookings_surround_now_in_every_shape():
    now = timezone.now()
    demo_seed(now=now)
    bookings = list(demo_bookings().select_related("driver", "vehicle", "facility"))
    by_status = {}
    for booking in bookings:
        by_status.setdefault(booking.status, []).append(booking)

    # Parked now: inside their window, let in at the gate (Central) or checked in (Harbor).
    parked = by_status["active"]
    assert len(parked) >= 5
    for booking in parked:
        assert booking.starts_at <= now < booking.ends_at
        assert booking.checked_in_at <= now
        assert _moves(booking) == [("", "confirmed"), ("confirmed", "active")]
    assert any(b.ends_at <= now + timedelta(hours=3) for b in parked)  # leaving soon
    entries = GateEvent.objects.filter(booking__in=parked, direction="entry", action="open")
    assert entries.filter(device__email="gate@central.demo").exists()
    assert {b.facility.operator.name for b in parked} == {
        "Demo Central Parking",
        "Demo Harbor Garages",
    }

    # Arriving: some within the next few hours, some tomorrow; none has arrived.
    confirmed = by_status["confirmed"]
    assert any(now < b.starts_at <= now + timedelta(hours=3) for b in confirmed)
    assert any(
        now + timedelta(hours=18) < b.starts_at <= now + timedelta(hours=30) for b in confirmed
    )
    assert all(b.starts_at > now and b.checked_in_at is None for b in confirmed)
    # Each driver was told of the booking when it was made.
    for booking in confirmed:
        assert booking.notifications.get().kind == NotificationKind.CONFIRMED

    # Done: came and left before now; one stayed past the end and paid for it.
    done = by_status["completed"]
    assert all(b.checked_out_at <= now and b.checked_in_at < b.checked_out_at for b in done)
    assert any(b.overstay_fee > 0 for b in done)
    assert all(
        _moves(b) == [("", "confirmed"), ("confirmed", "active"), ("active", "completed")]
        for b in done
    )

    # Cancelled by their drivers, and no-shows expired by the sweep, with their history.
    for booking in by_status["cancelled"]:
        cancel = booking.events.get(to_status="cancelled")
        assert cancel.actor == booking.driver
        assert cancel.at <= now
        assert booking.cancellation_fee == Decimal("0.00")  # long enough before the start
    for booking in by_status["expired"]:
        expiry = booking.events.get(to_status="expired")
        assert expiry.actor_kind == "system"
        assert "no-show" in expiry.reason
        assert booking.starts_at < expiry.at <= now
        assert booking.notifications.filter(kind=NotificationKind.EXPIRED).exists()

    # Priced by the rate engine: the lines add up to the price, which includes VAT.
    for booking in bookings:
        assert booking.rate_version is not None
        assert booking.price > 0
        assert sum(Decimal(line["amount"]) for line in booking.price_lines) == booking.price
    assert any(b.spot_kind == "ev" for b in bookings)
    assert any(b.spot_kind == "motorcycle" for b in bookings)

    # Several drivers, each with room to book more through the API (the cap is five).
    assert len({b.driver_id for b in bookings}) >= 5
    for driver in {b.driver for b in bookings}:
        assert driver.check_password("parkme-demo")
        assert Booking.objects.live().filter(driver=driver).count() <= 4


def test_the_dashboard_shows_the_demo_day():
    now = timezone.now()
    demo_seed(now=now)

    context = dashboard_context(facility=_kamppi(), now=now)

    assert context["totals"].occupied >= 3
    assert sum(bar.height > 0 for bar in context["chart"]["bars"]) >= 6
    assert context["arrivals"]
    assert context["departures"]


def test_the_readme_booking_works_on_demo_data_and_survives_a_reseed():
    now = timezone.now()
    demo_seed(now=now)
    driver = User.objects.get(email="driver@parkme.demo")
    car = driver.vehicles.get()
    tomorrow = (now + timedelta(days=1)).date()
    starts = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=UTC)

    mine, created = booking_create(
        driver=driver,
        request=BookingRequest(
            facility_id=_kamppi().pk,
            vehicle_id=car.pk,
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
        ),
        idempotency_key="my-retry-key-1",
    )
    assert created
    assert car.pk == Vehicle.objects.order_by("id").first().pk  # "vehicle 1" of the README

    demo_seed(now=now + timedelta(hours=3))
    mine.refresh_from_db()
    assert mine.status == "confirmed"


def test_seed_demo_later_replaces_the_bookings_around_the_new_hour():
    now = timezone.now()
    demo_seed(now=now)
    before = {b.pk: b for b in demo_bookings()}
    offsets_before = sorted(
        (b.starts_at - demo_anchor(now), b.ends_at - b.starts_at, b.status) for b in before.values()
    )

    later = now + timedelta(hours=5)
    demo_seed(now=later)
    after = list(demo_bookings())

    assert len(after) == len(before)
    assert not set(before) & {b.pk for b in after}
    offsets_after = sorted(
        (b.starts_at - demo_anchor(later), b.ends_at - b.starts_at, b.status) for b in after
    )
    assert offsets_after == offsets_before
    assert all(b.starts_at <= later < b.ends_at for b in after if b.status == "active")
    # The replaced bookings took their history and gate events with them.
    assert not BookingEvent.objects.filter(booking_id__in=before).exists()
    assert not GateEvent.objects.filter(booking__isnull=True).exists()


# --- the demo webhook endpoint and its receiver --------------------------------------------


def test_seed_demo_points_one_endpoint_at_the_local_receiver(monkeypatch):
    monkeypatch.delenv("DEMO_WEBHOOK_PORT", raising=False)
    monkeypatch.setenv("PORT", "8000")
    demo_seed()
    demo_seed()
    (endpoint,) = WebhookEndpoint.objects.all()
    assert endpoint.operator.name == "Demo Central Parking"
    assert endpoint.url == "http://127.0.0.1:8001/hooks"
    assert sorted(endpoint.event_types) == sorted(EventType.values)
    assert endpoint.is_active
    # What the demo did is on its way to it.
    types = set(
        WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_type", flat=True)
    )
    assert {"booking.created", "booking.checked_in", "booking.cancelled", "gate.entry"} <= types

    # Another port (PORT=9000 make run), and an endpoint disabled while nobody listened.
    WebhookEndpoint.objects.update(is_active=False)
    monkeypatch.setenv("PORT", "9000")
    demo_seed()
    (again,) = WebhookEndpoint.objects.all()
    assert again.pk == endpoint.pk
    assert again.url == demo_receiver_url() == "http://127.0.0.1:9001/hooks"
    assert again.is_active
    monkeypatch.setenv("DEMO_WEBHOOK_PORT", "9555")
    assert demo_receiver_url() == "http://127.0.0.1:9555/hooks"


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our receiver
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _this_database_url() -> str:
    """The test database as a DATABASE_URL, for a manage.py subprocess."""
    db = connection.settings_dict
    user, password = quote(db["USER"] or "", safe=""), quote(db["PASSWORD"] or "", safe="")
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    return f"postgres://{user}:{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def demo_receiver_process(transactional_db) -> Iterator[tuple[str, subprocess.Popen]]:
    """`manage.py demo_receiver` as the Procfile runs it (honcho gives each process a PORT
    of its own), after a seed_demo that pointed the demo endpoint at a free port."""
    url = f"http://127.0.0.1:{_free_port()}/hooks"
    demo_seed(webhook_url=url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _this_database_url(),
        "PORT": "5300",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DEMO_WEBHOOK_PORT", None)
    proc = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "demo_receiver"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    port = int(url.split(":")[2].split("/")[0])
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.1)
    yield url, proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_the_demo_receiver_takes_the_demo_deliveries_and_refuses_forgeries(
    demo_receiver_process,
):
    url, proc = demo_receiver_process
    endpoint = WebhookEndpoint.objects.get()
    while endpoint_deliver(endpoint_id=endpoint.pk).more:
        pass

    # Every delivery shows in the admin as delivered.
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert deliveries.count() >= 100
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert set(deliveries.values_list("response_status", flat=True)) == {204}

    body = json.dumps({"id": "x", "type": "booking.created", "data": {}}).encode()
    signed = {"ParkMe-Signature": signature_header([endpoint.secret], body)}
    forged = {"ParkMe-Signature": signature_header(["whsec_not-the-secret"], body)}
    tampered = body.replace(b"booking.created", b"booking.cancelled")
    assert _post(url, body, signed) == 204
    assert _post(url, body, forged) == 400
    assert _post(url, body, {}) == 400
    assert _post(url, tampered, signed) == 400

    # Stopped like honcho stops it; its output has one line per event.
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    lines = out.splitlines()
    assert lines[0] == f"Demo webhook receiver on {url} (Ctrl-C stops it)"
    received = [line for line in lines if line.startswith("received ")]
    assert len(received) == deliveries.count() + 1
    assert any("booking.checked_in demo-central-parking" in line for line in received)
    assert [line for line in lines if line.startswith("refused")] == [
        "refused a request: bad or missing signature"
    ] * 3
    assert lines[-1] == "Demo webhook receiver stopped."


@override_settings(PARKME_ENVIRONMENT="production")
def test_demo_receiver_refuses_production_settings():
    with pytest.raises(CommandError, match="production"):
        call_command("demo_receiver", port=0)
