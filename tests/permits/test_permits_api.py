"""The driver API for permits: what is on sale, buying one (and every refusal, which buys
nothing), and a driver's own permits: reading, changing plates and cancelling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from bookings.models import (
    GateAction,
    GateDirection,
    GateEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
    Permit,
    PermitEvent,
)
from bookings.states import ActorKind, PermitAction, PermitStatus
from tests.api.conftest import api_client_for
from tests.factories import (
    ALL_WEEK,
    WORKDAYS,
    FacilityFactory,
    permit,
    permit_product,
)

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/permit-products/"
PERMITS = "/api/v1/permits/"
HELSINKI = ZoneInfo("Europe/Helsinki")


def _today(facility) -> date:
    return timezone.now().astimezone(facility.tz).date()


def _a_day_ahead(facility, days: int = 10) -> date:
    """A local day at least ``days`` ahead whose month-later twin exists (day ≤ 28), so the
    expected period end is plain arithmetic."""
    day = _today(facility) + timedelta(days=days)
    while day.day > 28:
        day += timedelta(days=1)
    return day


def _month_later(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, day.day)


def _midnight(day: date, tz: ZoneInfo = HELSINKI) -> str:
    return datetime.combine(day, time(0), tzinfo=tz).isoformat()


def _body(product, **extra: Any) -> dict[str, Any]:
    return {
        "product": product.id,
        "plates": ["abc-123"],
        "valid_from": _a_day_ahead(product.facility).isoformat(),
        **extra,
    }


def _buy(client, product, **extra: Any):
    return client.post(PERMITS, _body(product, **extra), format="json")


def _error(response) -> tuple[int, str, set[str]]:
    error = response.json()["error"]
    return response.status_code, error["code"], set(error["fields"])


@pytest.fixture
def commuter(garage):
    """Workdays 06:00-20:00 at the garage, one space, 120.00 a month."""
    return permit_product(
        garage, name="Commuter", hours=((WORKDAYS, "06:00", "20:00"),), allocated_spaces=1
    )


# --- products on sale ---------------------------------------------------------------------


def test_products_on_sale_show_hours_prices_and_whether_any_is_left(as_user, alice, garage):
    commuter = permit_product(
        garage, name="Commuter", hours=((WORKDAYS, "06:00", "20:00"),), allocated_spaces=1
    )
    nights = permit_product(
        garage, name="Nights", hours=((ALL_WEEK, "17:00", "09:00"),), allocated_spaces=1
    )
    permit(nights, plates=["NIGHT-1"])  # fills its one space
    permit_product(garage, name="Retired", on_sale=False)
    permit_product(FacilityFactory(is_active=False), name="Closed garage")

    r = as_user(alice).get(PRODUCTS)

    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    by_name = {p["name"]: p for p in body["results"]}
    assert by_name["Commuter"] == {
        "id": commuter.id,
        "facility": {"id": garage.id, "name": "Kamppi", "timezone": "Europe/Helsinki"},
        "name": "Commuter",
        "spot_kind": "standard",
        "hours": [{"weekdays": [0, 1, 2, 3, 4], "starts": "06:00", "ends": "20:00"}],
        "hours_text": "Mon–Fri 06:00–20:00",
        "monthly_price": "120.00",
        "price_net": "95.62",
        "price_vat": "24.38",
        "vat_percent": "25.50",
        "currency": "EUR",
        "available": True,
    }
    assert by_name["Nights"]["hours"] == [
        {"weekdays": ALL_WEEK, "starts": "17:00", "ends": "09:00"}
    ]
    assert by_name["Nights"]["hours_text"] == "Daily 17:00–09:00 (next day)"
    assert by_name["Nights"]["available"] is False


def test_oversell_keeps_a_product_available_past_its_allocation(as_user, alice, garage):
    product = permit_product(garage, allocated_spaces=2, oversell_percent=50)  # cap 3
    for n in range(2):
        permit(product, plates=[f"OVER-{n}"])
    client = as_user(alice)
    assert client.get(PRODUCTS).json()["results"][0]["available"] is True
    permit(product, plates=["OVER-2"])
    assert client.get(PRODUCTS).json()["results"][0]["available"] is False


def test_products_can_be_listed_for_one_facility(as_user, alice, garage):
    permit_product(garage, name="Here")
    permit_product(FacilityFactory(name="Elsewhere"), name="There")
    client = as_user(alice)

    names = [p["name"] for p in client.get(PRODUCTS, {"facility": garage.id}).json()["results"]]
    assert names == ["Here"]
    assert client.get(PRODUCTS, {"facility": 999_999}).json()["count"] == 0
    assert len(client.get(PRODUCTS).json()["results"]) == 2


@pytest.mark.parametrize("value", ["", "x", "0", "-3", "1.5"])
def test_a_facility_filter_that_is_not_a_positive_id_is_400(as_user, alice, garage, value):
    r = as_user(alice).get(PRODUCTS, {"facility": value})
    assert _error(r) == (400, "validation_error", {"facility"})


def test_product_list_query_count_does_not_grow_with_the_page(
    as_user, alice, garage, django_assert_max_num_queries
):
    for n in range(12):
        product = permit_product(
            garage,
            name=f"Pass {n}",
            hours=((WORKDAYS, "06:00", "20:00"), ([5, 6], "08:00", "16:00")),
        )
        permit(product, plates=[f"Q-{n}"])
    client = as_user(alice)
    for size in (1, 12):
        # the account, the count, the products with their running permits, their hours
        with django_assert_max_num_queries(4):
            r = client.get(PRODUCTS, {"page_size": size})
        assert len(r.json()["results"]) == size
        assert all(len(p["hours"]) == 2 for p in r.json()["results"])


# --- buying -------------------------------------------------------------------------------


def test_buying_a_permit_gives_a_months_period_at_the_full_price(as_user, alice, commuter):
    first_day = _a_day_ahead(commuter.facility)

    r = _buy(
        as_user(alice),
        commuter,
        plates=["abc-123", " XYZ 789 "],
        valid_from=first_day.isoformat(),
        facility=commuter.facility_id,
    )

    assert r.status_code == 201, r.json()
    body = r.json()
    made = Permit.objects.get()
    assert body == {
        "id": str(made.public_id),
        "reference": made.reference,
        "status": "active",
        "product": {
            "id": commuter.id,
            "name": "Commuter",
            "spot_kind": "standard",
            "hours_text": "Mon–Fri 06:00–20:00",
        },
        "facility": {"id": commuter.facility_id, "name": "Kamppi", "timezone": "Europe/Helsinki"},
        "plates": ["abc-123", "XYZ 789"],
        "valid_from": _midnight(first_day),
        "valid_to": _midnight(_month_later(first_day)),
        "auto_renew": True,
        # A whole month, however late in it the permit starts (no pro rata).
        "price": "120.00",
        "price_vat": "24.38",
        "currency": "EUR",
        "status_reason": "",
        "created_at": made.created_at.astimezone(HELSINKI).isoformat(),
    }
    assert len(body["reference"]) == 8
    assert made.holder == alice
    assert made.plates_normalized == ["ABC123", "XYZ789"]
    event = PermitEvent.objects.get(permit=made)
    assert (event.action, event.to_status, event.actor, event.actor_kind) == (
        PermitAction.CREATE,
        PermitStatus.ACTIVE,
        alice,
        ActorKind.DRIVER,
    )
    notice = Notification.objects.get(permit=made)
    assert (notice.kind, notice.status) == (
        NotificationKind.PERMIT_CREATED,
        NotificationStatus.PENDING,
    )


def test_a_permit_can_start_today_and_without_renewal(as_user, alice, commuter):
    today = _today(commuter.facility)
    r = _buy(as_user(alice), commuter, valid_from=today.isoformat(), auto_renew=False)
    assert r.status_code == 201, r.json()
    assert r.json()["valid_from"] == _midnight(today)
    assert r.json()["auto_renew"] is False


def test_sales_stop_at_allocation_plus_oversell(as_user, alice, bob, garage):
    product = permit_product(garage, allocated_spaces=2, oversell_percent=50)  # cap 3
    for n in range(2):
        permit(product, plates=[f"CAP-{n}"])

    assert _buy(as_user(alice), product, plates=["ALICE-1"]).status_code == 201
    refused = _buy(as_user(bob), product, plates=["BOB-1"])

    assert _error(refused) == (409, "sold_out", set())
    assert Permit.objects.count() == 3
    assert not Permit.objects.filter(holder=bob).exists()


_Body = Callable[[Any, Any, date], dict[str, Any]]
BAD_BODIES: list[tuple[str, _Body, str]] = [
    ("no plates", lambda p, o, t: {"plates": []}, "plates"),
    ("four plates", lambda p, o, t: {"plates": ["A1", "B2", "C3", "D4"]}, "plates"),
    ("not a plate", lambda p, o, t: {"plates": ["!!!"]}, "plates"),
    ("plate too long", lambda p, o, t: {"plates": ["A" * 21]}, "plates"),
    ("same plate twice", lambda p, o, t: {"plates": ["ABC-1", "abc 1"]}, "plates"),
    ("plates not a list", lambda p, o, t: {"plates": "ABC-1"}, "plates"),
    ("a plate not a string", lambda p, o, t: {"plates": [123]}, "plates"),
    ("unknown product", lambda p, o, t: {"product": 999_999}, "product"),
    ("product off sale", lambda p, o, t: {"product": o.id}, "product"),
    ("product as text", lambda p, o, t: {"product": str(p.id)}, "product"),
    ("product of another facility", lambda p, o, t: {"facility": p.facility_id + 1}, "product"),
    ("starts yesterday", lambda p, o, t: {"valid_from": str(t - timedelta(days=1))}, "valid_from"),
    ("91 days ahead", lambda p, o, t: {"valid_from": str(t + timedelta(days=91))}, "valid_from"),
    ("not a date", lambda p, o, t: {"valid_from": "next monday"}, "valid_from"),
    ("a compact date", lambda p, o, t: {"valid_from": t.strftime("%Y%m%d")}, "valid_from"),
    ("a date-time", lambda p, o, t: {"valid_from": f"{t}T00:00:00+02:00"}, "valid_from"),
    ("auto_renew as text", lambda p, o, t: {"auto_renew": "yes"}, "auto_renew"),
    ("an unknown field", lambda p, o, t: {"price": "0.00"}, "price"),
]


@pytest.mark.parametrize(("what", "change", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_a_refused_purchase_names_the_field_and_buys_nothing(
    as_user, alice, commuter, what, change, field
):
    off_sale = permit_product(commuter.facility, name="Old pass", on_sale=False)
    before = Permit.objects.count()
    body = {**_body(commuter), **change(commuter, off_sale, _today(commuter.facility))}

    r = as_user(alice).post(PERMITS, body, format="json")

    assert _error(r) == (400, "validation_error", {field}), r.json()
    assert Permit.objects.count() == before
    assert not PermitEvent.objects.filter(permit__holder=alice).exists()


@pytest.mark.parametrize("missing", ["product", "plates", "valid_from"])
def test_a_purchase_without_a_required_field_is_400(as_user, alice, commuter, missing):
    body = _body(commuter)
    del body[missing]
    r = as_user(alice).post(PERMITS, body, format="json")
    assert _error(r) == (400, "validation_error", {missing})
    assert not Permit.objects.exists()


def test_a_plate_already_on_a_permit_of_the_product_is_refused(as_user, alice, garage):
    product = permit_product(garage, allocated_spaces=5)
    permit(product, plates=["TAKEN-1"])
    r = _buy(as_user(alice), product, plates=["taken 1"], valid_from=str(_today(garage)))
    assert _error(r) == (400, "validation_error", {"plates"})
    assert Permit.objects.count() == 1


def test_purchases_count_against_the_booking_throttles(as_user, alice, garage):
    product = permit_product(garage, allocated_spaces=5)
    framework = settings.REST_FRAMEWORK
    rates = {**framework["DEFAULT_THROTTLE_RATES"], "booking_burst": "1/minute"}
    with override_settings(REST_FRAMEWORK={**framework, "DEFAULT_THROTTLE_RATES": rates}):
        client = as_user(alice)
        assert _buy(client, product, plates=["FAST-1"]).status_code == 201
        throttled = _buy(client, product, plates=["FAST-2"])
        assert client.get(PERMITS).status_code == 200  # reading is not a purchase
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    assert Permit.objects.count() == 1


# --- your permits -------------------------------------------------------------------------


def test_drivers_see_only_their_own_permits(as_user, alice, bob, commuter):
    product = permit_product(commuter.facility, allocated_spaces=5)
    mine = permit(product, holder=alice, plates=["MINE-1"])
    theirs = permit(product, holder=bob, plates=["THEIRS-1"])
    client = as_user(alice)

    listed = client.get(PERMITS).json()
    assert [p["id"] for p in listed["results"]] == [str(mine.public_id)]
    assert client.get(f"{PERMITS}{mine.public_id}/").json()["plates"] == ["MINE-1"]

    url = f"{PERMITS}{theirs.public_id}/"
    for r in (
        client.get(url),
        client.patch(url, {"plates": ["STOLEN-1"]}, format="json"),
        client.post(f"{url}cancel/", {}, format="json"),
    ):
        assert _error(r) == (404, "not_found", set())
    theirs.refresh_from_db()
    assert (theirs.status, theirs.plates) == (PermitStatus.ACTIVE, ["THEIRS-1"])


def test_permits_can_be_listed_by_status(as_user, alice, garage):
    product = permit_product(garage, allocated_spaces=5)
    active = permit(product, holder=alice, plates=["ST-1"])
    cancelled = permit(product, holder=alice, plates=["ST-2"])
    expired = permit(product, holder=alice, plates=["ST-3"])
    Permit.objects.filter(pk=cancelled.pk).update(status=PermitStatus.CANCELLED)
    Permit.objects.filter(pk=expired.pk).update(status=PermitStatus.EXPIRED)
    client = as_user(alice)

    def ids(params) -> set[str]:
        r = client.get(PERMITS, params)
        assert r.status_code == 200
        return {p["id"] for p in r.json()["results"]}

    assert ids({"status": "active"}) == {str(active.public_id)}
    assert ids({"status": ["cancelled", "expired"]}) == {
        str(cancelled.public_id),
        str(expired.public_id),
    }
    assert len(ids({})) == 3
    for bad in ("lost", ""):
        assert _error(client.get(PERMITS, {"status": bad})) == (
            400,
            "validation_error",
            {"status"},
        )


def test_an_unknown_permit_id_is_404(as_user, alice):
    client = as_user(alice)
    assert client.get(f"{PERMITS}00000000-0000-4000-8000-000000000000/").status_code == 404
    assert client.get(f"{PERMITS}not-a-uuid/").status_code == 404


def test_permit_list_query_count_does_not_grow_with_the_page(
    as_user, alice, garage, django_assert_max_num_queries
):
    for n in range(8):
        product = permit_product(garage, name=f"Pass {n}", hours=((WORKDAYS, "07:00", "19:00"),))
        permit(product, holder=alice, plates=[f"LIST-{n}"])
    client = as_user(alice)
    for size in (1, 8):
        # the account, the count, the permits with product and facility, the hours
        with django_assert_max_num_queries(4):
            r = client.get(PERMITS, {"page_size": size})
        assert len(r.json()["results"]) == size
        assert r.json()["results"][0]["product"]["hours_text"] == "Mon–Fri 07:00–19:00"


# --- changing plates ----------------------------------------------------------------------


def test_plates_can_be_changed(as_user, alice, commuter):
    held = permit(commuter, holder=alice, plates=["OLD-1"])
    r = as_user(alice).patch(
        f"{PERMITS}{held.public_id}/", {"plates": ["new-1", "NEW 2"]}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["plates"] == ["new-1", "NEW 2"]
    held.refresh_from_db()
    assert held.plates_normalized == ["NEW1", "NEW2"]
    change = PermitEvent.objects.get(permit=held, action=PermitAction.CHANGE_PLATES)
    assert change.data == {"before": ["OLD-1"], "after": ["new-1", "NEW 2"]}


def test_plates_cannot_change_while_a_vehicle_of_the_permit_is_inside(as_user, alice, commuter):
    held = permit(commuter, holder=alice, plates=["IN-1"])
    GateEvent.objects.create(
        facility=commuter.facility,
        plate_normalized="IN1",
        direction=GateDirection.ENTRY,
        action=GateAction.OPEN,
        reason="permit_entry",
        permit=held,
        at=timezone.now(),
    )
    r = as_user(alice).patch(f"{PERMITS}{held.public_id}/", {"plates": ["OUT-1"]}, format="json")
    assert _error(r) == (409, "permit_vehicle_inside", set())
    held.refresh_from_db()
    assert held.plates == ["IN-1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plates": ["NEW-1"], "auto_renew": False}, "auto_renew"),
        ({"plates": []}, "plates"),
        ({"plates": ["A1", "B2", "C3", "D4"]}, "plates"),
        ({"plates": ["SAME-1", "same 1"]}, "plates"),
    ],
)
def test_a_refused_plate_change_changes_nothing(as_user, alice, commuter, body, field):
    held = permit(commuter, holder=alice, plates=["KEEP-1"])
    r = as_user(alice).patch(f"{PERMITS}{held.public_id}/", body, format="json")
    assert _error(r) == (400, "validation_error", {field})
    held.refresh_from_db()
    assert (held.plates, held.auto_renew) == (["KEEP-1"], True)


def test_a_patch_without_plates_changes_nothing(as_user, alice, commuter):
    held = permit(commuter, holder=alice, plates=["SAME-1"])
    r = as_user(alice).patch(f"{PERMITS}{held.public_id}/", {}, format="json")
    assert r.status_code == 200
    assert r.json()["plates"] == ["SAME-1"]
    assert not PermitEvent.objects.filter(permit=held, action=PermitAction.CHANGE_PLATES).exists()


def test_an_expired_permit_keeps_its_plates(as_user, alice, commuter):
    held = permit(commuter, holder=alice, plates=["GONE-1"])
    Permit.objects.filter(pk=held.pk).update(status=PermitStatus.EXPIRED)
    r = as_user(alice).patch(f"{PERMITS}{held.public_id}/", {"plates": ["NEW-1"]}, format="json")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"
    assert r.json()["error"]["fields"] == {"status": ["expired"]}


# --- cancelling ---------------------------------------------------------------------------


def test_a_cancelled_permit_runs_to_its_period_end_and_cannot_be_cancelled_again(
    as_user, alice, commuter
):
    held = permit(commuter, holder=alice, plates=["BYE-1"])
    url = f"{PERMITS}{held.public_id}/cancel/"
    client = as_user(alice)

    r = client.post(url)  # no body at all

    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["status"], body["auto_renew"]) == ("cancelled", False)
    assert body["valid_to"] == held.valid_to.astimezone(HELSINKI).isoformat()
    assert PermitEvent.objects.filter(permit=held, action=PermitAction.CANCEL).count() == 1

    again = client.post(url, {}, format="json")
    assert _error(again) == (409, "invalid_transition", {"status"})
    assert again.json()["error"]["fields"]["status"] == ["cancelled"]
    assert PermitEvent.objects.filter(permit=held, action=PermitAction.CANCEL).count() == 1


def test_cancel_takes_no_fields(as_user, alice, commuter):
    held = permit(commuter, holder=alice, plates=["STAY-1"])
    r = as_user(alice).post(
        f"{PERMITS}{held.public_id}/cancel/", {"reason": "moving"}, format="json"
    )
    assert _error(r) == (400, "validation_error", {"reason"})
    held.refresh_from_db()
    assert held.status == PermitStatus.ACTIVE


# --- who may call -------------------------------------------------------------------------


def _every_call(held) -> list[tuple[str, str, dict | None]]:
    one = f"{PERMITS}{held.public_id}/"
    return [
        ("get", PRODUCTS, None),
        ("get", PERMITS, None),
        ("post", PERMITS, _body(held.product)),
        ("get", one, None),
        ("patch", one, {"plates": ["DEV-1"]}),
        ("post", f"{one}cancel/", {}),
    ]


def test_gate_devices_get_403_on_every_permit_call(device_of, garage, commuter):
    held = permit(commuter, plates=["HELD-1"])
    device = api_client_for(device_of(garage.operator))
    for method, url, body in _every_call(held):
        r = getattr(device, method)(url, body, format="json")
        assert _error(r) == (403, "permission_denied", set()), (method, url)
    assert Permit.objects.count() == 1


def test_anonymous_callers_get_401(api, commuter):
    held = permit(commuter, plates=["HELD-1"])
    for method, url, body in _every_call(held):
        r = getattr(api, method)(url, body, format="json")
        assert _error(r) == (401, "not_authenticated", set()), (method, url)
    assert Permit.objects.count() == 1
