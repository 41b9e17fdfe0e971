"""A typed client generated from the live /api/schema/ with openapi-python-client works
untouched: a driver's whole journey, and each error on the way, through the generated
functions and models only (no JSON, no HTTP calls of our own), against a real server."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from parkme.models import Role
from parkme.services import membership_set
from tests.api.conftest import tomorrow_at
from tests.factories import PASSWORD, UserFactory

# The live server thread needs the rows committed.
pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "parkme_client"


@pytest.fixture
def generated(live_server, tmp_path):
    """The client package generated from the schema the live server serves."""
    schema = tmp_path / "openapi.yaml"
    with urllib.request.urlopen(f"{live_server.url}/api/schema/") as answer:  # noqa: S310
        schema.write_bytes(answer.read())
    config = tmp_path / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    out = tmp_path / "client"
    run = subprocess.run(  # noqa: S603 - our own executable and paths
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_driver_journey_through_the_generated_client(generated, live_server, garage):
    from parkme_client import AuthenticatedClient, Client
    from parkme_client.api.account import me
    from parkme_client.api.auth import auth_logout, auth_register, auth_token, auth_token_refresh
    from parkme_client.api.bookings import (
        bookings_cancel,
        bookings_create,
        bookings_extend,
        bookings_list,
        bookings_retrieve,
    )
    from parkme_client.api.facilities import facilities_detail, facilities_quote, facilities_search
    from parkme_client.api.operator import operator_gate_events
    from parkme_client.api.vehicles import vehicles_create
    from parkme_client.models import (
        AuthTokenRefreshError,
        AuthTokenRefreshErrorCode,
        BookingCreateInputRequest,
        BookingOutput,
        BookingsCancelError,
        BookingsCancelErrorCode,
        BookingsCreateError,
        BookingsCreateErrorCode,
        BookingsRetrieveError,
        BookingsRetrieveErrorCode,
        CancelInputRequest,
        DirectionEnum,
        ExtendInputRequest,
        FacilityDetailOutput,
        GateEventInputRequest,
        GateEventOutput,
        KindEnum,
        LogoutInputRequest,
        MeError,
        MeErrorCode,
        PaginatedBookings,
        PaginatedFacilities,
        QuoteOutput,
        RateBoardOutput,
        ReasonEnum,
        RefreshInputRequest,
        RegisterInputRequest,
        SpotKindEnum,
        StatusEnum,
        TokenInputRequest,
        TokenPairOutput,
        UserOutput,
        VehicleInputRequest,
        VehicleOutput,
        VehiclesCreateError,
        VehiclesCreateErrorCode,
    )

    anonymous = Client(base_url=live_server.url, raise_on_unexpected_status=True)
    email, password = "journey@example.com", "a-long-unusual-pass-42"

    # Register, sign in, refresh: the spent refresh token is then refused, typed.
    r = auth_register.sync_detailed(
        client=anonymous,
        body=RegisterInputRequest(email=email, password=password, full_name="Jo Urney"),
    )
    assert r.status_code == 201
    assert isinstance(r.parsed, UserOutput)
    assert r.parsed.email == email
    assert r.headers["X-Request-ID"]
    pair = auth_token.sync(client=anonymous, body=TokenInputRequest(email=email, password=password))
    assert isinstance(pair, TokenPairOutput)
    assert pair.access
    assert pair.refresh
    refreshed = auth_token_refresh.sync(
        client=anonymous, body=RefreshInputRequest(refresh=pair.refresh)
    )
    assert isinstance(refreshed, TokenPairOutput)
    assert refreshed.refresh != pair.refresh
    r = auth_token_refresh.sync_detailed(
        client=anonymous, body=RefreshInputRequest(refresh=pair.refresh)
    )
    assert r.status_code == 401
    assert isinstance(r.parsed, AuthTokenRefreshError)
    assert r.parsed.error.code == AuthTokenRefreshErrorCode.AUTHENTICATION_FAILED
    assert r.parsed.error.request_id == r.headers["X-Request-ID"]
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'

    # Log out: that refresh token is revoked; sign in again for the rest.
    r = auth_logout.sync_detailed(
        client=anonymous, body=LogoutInputRequest(refresh=refreshed.refresh)
    )
    assert r.status_code == 204
    assert r.parsed is None
    r = auth_token_refresh.sync_detailed(
        client=anonymous, body=RefreshInputRequest(refresh=refreshed.refresh)
    )
    assert isinstance(r.parsed, AuthTokenRefreshError)
    assert r.status_code == 401
    pair = auth_token.sync(client=anonymous, body=TokenInputRequest(email=email, password=password))
    driver = AuthenticatedClient(
        base_url=live_server.url, token=pair.access, raise_on_unexpected_status=True
    )
    account = me.sync(client=driver)
    assert isinstance(account, UserOutput)
    assert account.memberships == []
    r = me.sync_detailed(client=anonymous)
    assert isinstance(r.parsed, MeError)
    assert r.parsed.error.code == MeErrorCode.NOT_AUTHENTICATED

    # A vehicle; the same plate again is a typed duplicate_plate.
    car = vehicles_create.sync(
        client=driver, body=VehicleInputRequest(plate="jo-123", kind=KindEnum.CAR)
    )
    assert isinstance(car, VehicleOutput)
    assert car.plate_normalized == "JO123"
    r = vehicles_create.sync_detailed(client=driver, body=VehicleInputRequest(plate="JO 123"))
    assert r.status_code == 400
    assert isinstance(r.parsed, VehiclesCreateError)
    assert r.parsed.error.code == VehiclesCreateErrorCode.DUPLICATE_PLATE
    assert r.parsed.error.fields.additional_properties["plate"]

    # Search, detail and quote for tomorrow 09:00-11:00 UTC, anonymously.
    start = tomorrow_at(9)
    end = start + dt.timedelta(hours=2)
    found = facilities_search.sync(
        client=anonymous, lat=60.17, lng=24.93, radius_km=5, starts_at=start, ends_at=end
    )
    assert isinstance(found, PaginatedFacilities)
    assert [f.id for f in found.results] == [garage.id]
    assert found.results[0].available_spots == 5
    assert found.window.starts_at == start
    detail = facilities_detail.sync(garage.id, client=anonymous, starts_at=start, ends_at=end)
    assert isinstance(detail, FacilityDetailOutput)
    assert isinstance(detail.rate_board, RateBoardOutput)
    assert detail.rate_board.bands[0].unit_price == "3.00"
    assert {a.kind for a in detail.availability} >= {SpotKindEnum.STANDARD, SpotKindEnum.EV}
    quote = facilities_quote.sync(garage.id, client=anonymous, starts_at=start, ends_at=end)
    assert isinstance(quote, QuoteOutput)
    assert quote.price == "6.00"
    assert [line.amount for line in quote.lines] == ["6.00"]
    assert found.results[0].price == "6.00"

    # Book with an Idempotency-Key; the retry replays the same booking; another body with
    # the same key is a typed idempotency_key_reused.
    body = BookingCreateInputRequest(
        facility=garage.id,
        vehicle=car.id,
        starts_at=start,
        ends_at=end,
        quote_token=quote.quote_token,
    )
    first = bookings_create.sync_detailed(client=driver, body=body, idempotency_key="journey-1")
    assert first.status_code == 201
    assert isinstance(first.parsed, BookingOutput)
    assert "Idempotent-Replayed" not in first.headers
    booking = first.parsed
    assert booking.status == StatusEnum.CONFIRMED
    assert booking.price == "6.00"
    assert booking.spot.kind == SpotKindEnum.STANDARD
    assert booking.vehicle.id == car.id
    replay = bookings_create.sync_detailed(client=driver, body=body, idempotency_key="journey-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.id == booking.id
    r = bookings_create.sync_detailed(
        client=driver,
        body=BookingCreateInputRequest(
            facility=garage.id, vehicle=car.id, starts_at=start, ends_at=end, hold=True
        ),
        idempotency_key="journey-1",
    )
    assert r.status_code == 422
    assert isinstance(r.parsed, BookingsCreateError)
    assert r.parsed.error.code == BookingsCreateErrorCode.IDEMPOTENCY_KEY_REUSED
    r = bookings_create.sync_detailed(
        client=driver,
        body=BookingCreateInputRequest(
            facility=garage.id, vehicle=car.id, starts_at=start, ends_at=end
        ),
    )
    assert r.status_code == 409
    assert r.parsed.error.code == BookingsCreateErrorCode.VEHICLE_BUSY

    # List, extend by an hour, cancel; cancelling again is a typed invalid_transition.
    listed = bookings_list.sync(client=driver)
    assert isinstance(listed, PaginatedBookings)
    assert [b.id for b in listed.results] == [booking.id]
    extended = bookings_extend.sync(
        booking.id, client=driver, body=ExtendInputRequest(ends_at=end + dt.timedelta(hours=1))
    )
    assert isinstance(extended, BookingOutput)
    assert extended.ends_at == end + dt.timedelta(hours=1)
    assert extended.price == "9.00"
    cancelled = bookings_cancel.sync(
        booking.id, client=driver, body=CancelInputRequest(reason="Plans changed.")
    )
    assert isinstance(cancelled, BookingOutput)
    assert cancelled.status == StatusEnum.CANCELLED
    r = bookings_cancel.sync_detailed(booking.id, client=driver)
    assert r.status_code == 409
    assert isinstance(r.parsed, BookingsCancelError)
    assert r.parsed.error.code == BookingsCancelErrorCode.INVALID_TRANSITION
    assert r.parsed.error.fields.additional_properties["status"] == ["cancelled"]
    r = bookings_retrieve.sync_detailed("00000000-0000-4000-8000-000000000000", client=driver)
    assert r.status_code == 404
    assert isinstance(r.parsed, BookingsRetrieveError)
    assert r.parsed.error.code == BookingsRetrieveErrorCode.NOT_FOUND

    # The garage's gate: a plate with no booking is denied, and `booking` is a typed None.
    device = UserFactory(email="gate@example.com")
    membership_set(user=device, operator=garage.operator, role=Role.DEVICE)
    gate_pair = auth_token.sync(
        client=anonymous, body=TokenInputRequest(email=device.email, password=PASSWORD)
    )
    gate = AuthenticatedClient(base_url=live_server.url, token=gate_pair.access)
    answer = operator_gate_events.sync(
        client=gate,
        body=GateEventInputRequest(
            facility=garage.id, plate="JO-123", direction=DirectionEnum.ENTRY
        ),
    )
    assert isinstance(answer, GateEventOutput)
    assert answer.reason == ReasonEnum.NO_BOOKING
    assert answer.booking is None
