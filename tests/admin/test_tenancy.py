"""Staff of operator A against operator B's rows, for every admin model a staff user sees.

B's rows must answer like missing ones (the admin's "doesn't exist" redirect, never a page
with their fields), and forged POSTs that create or move a row into B change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from django.urls import reverse

from bookings.models import Booking
from bookings.states import BookingStatus
from facilities.models import Facility, RateVersion, Spot, SpotStatus, Zone
from parkme.models import Membership
from tests import factories
from tests.admin.conftest import Tenant
from tests.admin.test_bookings_admin import exported


@dataclass(frozen=True)
class Case:
    url: str  # admin URL name prefix, e.g. "facilities_zone"
    obj: Callable[[Tenant], object]
    marker: Callable[[Tenant], str]  # text that would only appear if the row leaked
    autocomplete: tuple[str, str, str] | None = None  # source app, model, field

    def __str__(self) -> str:
        return self.url


CASES = [
    Case(
        "facilities_facility",
        lambda t: t.facility,
        lambda t: t.facility.name,
        ("facilities", "zone", "facility"),
    ),
    Case(
        "facilities_zone", lambda t: t.zone, lambda t: t.zone.name, ("facilities", "spot", "zone")
    ),
    Case(
        "facilities_spot", lambda t: t.spot, lambda t: t.spot.code, ("bookings", "booking", "spot")
    ),
    Case("facilities_rateversion", lambda t: t.rate_version, lambda t: t.facility.name),
    Case("parkme_membership", lambda t: t.membership, lambda t: t.membership.user.email),
    Case(
        "bookings_booking",
        lambda t: t.booking,
        lambda t: t.booking.reference,
        ("bookings", "bookingevent", "booking"),
    ),
    Case("bookings_bookingevent", lambda t: t.event, lambda t: t.booking.reference),
    Case("bookings_notification", lambda t: t.notification, lambda t: t.booking.reference),
    Case("vehicles_platelookup", lambda t: t.lookup, lambda t: t.lookup.query),
]
SUPERUSER_ONLY = ["parkme_user", "parkme_operator", "vehicles_vehicle"]


def change_url(case: Case, obj) -> str:
    return reverse(f"admin:{case.url}_change", args=[obj.pk])


@pytest.mark.parametrize("case", CASES, ids=str)
def test_changelist_shows_own_rows_and_never_another_operators(case, world, admin_a, as_user):
    page = as_user(admin_a).get(reverse(f"admin:{case.url}_changelist"))

    assert page.status_code == 200
    html = page.content.decode()
    assert change_url(case, case.obj(world.a)) in html
    assert change_url(case, case.obj(world.b)) not in html
    assert case.marker(world.b) not in html


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_another_operators_row_answers_as_if_it_did_not_exist(case, view, world, admin_a, as_user):
    client = as_user(admin_a)
    url = reverse(f"admin:{case.url}_{view}", args=[case.obj(world.b).pk])

    response = client.get(url)

    if response.status_code == 403:  # a read-only model's delete page refuses first
        assert view == "delete"
    else:
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        landing = client.get(response.url).content.decode()
        assert "doesn’t exist" in landing
        assert case.marker(world.b) not in landing
    assert case.marker(world.b) not in response.content.decode()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_own_row_opens_for_its_operator(case, world, admin_a, as_user):
    response = as_user(admin_a).get(change_url(case, case.obj(world.a)))

    assert response.status_code == 200
    assert case.marker(world.a) in response.content.decode()


@pytest.mark.parametrize("case", [c for c in CASES if c.autocomplete], ids=str)
def test_autocomplete_offers_only_own_operators_rows(case, world, admin_a, as_user):
    app_label, model_name, field_name = case.autocomplete
    response = as_user(admin_a).get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""},
    )

    assert response.status_code == 200
    ids = {r["id"] for r in response.json()["results"]}
    assert str(case.obj(world.a).pk) in ids
    assert str(case.obj(world.b).pk) not in ids


@pytest.mark.parametrize("case", [c for c in CASES if c.autocomplete], ids=str)
def test_autocomplete_search_cannot_find_another_operators_row(case, world, admin_a, as_user):
    app_label, model_name, field_name = case.autocomplete
    response = as_user(admin_a).get(
        reverse("admin:autocomplete"),
        {
            "app_label": app_label,
            "model_name": model_name,
            "field_name": field_name,
            "term": case.marker(world.b),
        },
    )

    assert response.json()["results"] == []


@pytest.mark.parametrize("url", SUPERUSER_ONLY)
def test_users_operators_and_vehicles_are_for_ops_only(url, world, admin_a, ops, as_user):
    assert as_user(admin_a).get(reverse(f"admin:{url}_changelist")).status_code == 403
    assert as_user(ops).get(reverse(f"admin:{url}_changelist")).status_code == 200


def test_operator_autocomplete_is_closed_to_staff(world, admin_a, as_user):
    response = as_user(admin_a).get(
        reverse("admin:autocomplete"),
        {"app_label": "facilities", "model_name": "facility", "field_name": "operator"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("case", CASES, ids=str)
def test_superuser_sees_every_operator(case, world, ops, as_user):
    html = as_user(ops).get(reverse(f"admin:{case.url}_changelist")).content.decode()

    assert change_url(case, case.obj(world.a)) in html
    assert change_url(case, case.obj(world.b)) in html


@pytest.mark.parametrize("case", CASES, ids=str)
def test_staff_of_b_does_not_see_a_either(case, world, admin_b, as_user):
    html = as_user(admin_b).get(reverse(f"admin:{case.url}_changelist")).content.decode()

    assert change_url(case, case.obj(world.b)) in html
    assert change_url(case, case.obj(world.a)) not in html


@pytest.mark.parametrize("case", CASES, ids=str)
def test_outsider_and_driver_reach_nothing(case, world, bob, as_user):
    for url in (
        reverse(f"admin:{case.url}_changelist"),
        change_url(case, case.obj(world.a)),
        change_url(case, case.obj(world.b)),
    ):
        response = as_user(bob).get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


# --- forged POSTs: creating or moving a row into B ---------------------------------------


def management(*prefixes: str) -> dict[str, str]:
    data = {}
    for prefix in prefixes:
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return data


def facility_form(operator, **extra) -> dict[str, str]:
    return {
        "operator": str(operator.pk),
        "name": "Forged Garage",
        "slug": "forged-garage",
        "address": "",
        "latitude": "60.1",
        "longitude": "24.9",
        "timezone": "Europe/Helsinki",
        "is_active": "on",
        **management("zones"),
        **extra,
    }


@pytest.mark.parametrize(("target", "created"), [("a", True), ("b", False)])
def test_add_facility_only_into_own_operator(target, created, world, admin_a, as_user):
    operator = getattr(world, target).operator

    response = as_user(admin_a).post(
        reverse("admin:facilities_facility_add"), facility_form(operator)
    )

    assert Facility.objects.filter(name="Forged Garage").exists() is created
    if not created:
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert Facility.objects.filter(operator=world.b.operator).count() == 1


@pytest.mark.parametrize(("target", "created"), [("a", True), ("b", False)])
def test_add_zone_only_into_own_facility(target, created, world, admin_a, as_user):
    facility = getattr(world, target).facility

    as_user(admin_a).post(
        reverse("admin:facilities_zone_add"),
        {"facility": str(facility.pk), "name": "Forged", "level": "0"},
    )

    assert Zone.objects.filter(name="Forged").exists() is created


def test_moving_own_zone_into_b_is_refused(world, admin_a, as_user):
    zone = world.a.zone

    response = as_user(admin_a).post(
        reverse("admin:facilities_zone_change", args=[zone.pk]),
        {"facility": str(world.b.facility.pk), "name": zone.name, "level": "0"},
    )

    assert response.status_code == 200
    zone.refresh_from_db()
    assert zone.facility_id == world.a.facility.pk
    assert zone.level == -1


def spot_form(zone, code="FORGED1") -> dict[str, str]:
    return {
        "zone": str(zone.pk),
        "code": code,
        "kind": "standard",
        "status": "available",
        "is_active": "on",
    }


@pytest.mark.parametrize(("target", "created"), [("a", True), ("b", False)])
def test_add_spot_only_into_own_zone(target, created, world, admin_a, as_user):
    zone = getattr(world, target).zone

    as_user(admin_a).post(reverse("admin:facilities_spot_add"), spot_form(zone))

    assert Spot.objects.filter(code="FORGED1").exists() is created
    if created:  # the facility follows the zone
        assert Spot.objects.get(code="FORGED1").facility == world.a.facility


def test_moving_own_spot_into_b_is_refused(world, admin_a, as_user):
    spot = world.a.spot

    response = as_user(admin_a).post(
        reverse("admin:facilities_spot_change", args=[spot.pk]),
        spot_form(world.b.zone, code=spot.code),
    )

    assert response.status_code == 200
    spot.refresh_from_db()
    assert (spot.zone_id, spot.facility_id) == (world.a.zone.pk, world.a.facility.pk)


def rate_version_form(facility_id: int, **extra: str) -> dict[str, str]:
    """The admin's add form of a rate version: every day at 9.99 an hour, from 2031."""
    data = {
        "facility": str(facility_id),
        "label": "Forged board",
        "valid_from_0": "2031-01-01",
        "valid_from_1": "00:00:00",
        "currency": "EUR",
        "vat_percent": "24",
        "minimum_charge": "0",
        "grace_minutes": "10",
        "cancel_free_hours": "0",
        **management("early_birds", "special_days", "kind_adjustments"),
        "bands-TOTAL_FORMS": "7",
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
    }
    for day in range(7):
        data |= {
            f"bands-{day}-weekday": str(day),
            f"bands-{day}-starts": "00:00",
            f"bands-{day}-ends": "",
            f"bands-{day}-unit_minutes": "60",
            f"bands-{day}-unit_price": "9.99",
        }
    return data | extra


@pytest.mark.parametrize(("target", "created"), [("a", True), ("b", False)])
def test_add_rate_version_only_for_own_facility(target, created, world, admin_a, as_user):
    tenant = getattr(world, target)
    # The board in force ends when 2031 starts, so a new one may start then.
    RateVersion.objects.filter(pk=tenant.rate_version.pk).update(
        valid_to=datetime(2031, 1, 1, tzinfo=world.a.facility.tz)
    )

    response = as_user(admin_a).post(
        reverse("admin:facilities_rateversion_add"), rate_version_form(tenant.facility.pk)
    )

    assert response.status_code == (302 if created else 200)
    assert RateVersion.objects.filter(label="Forged board").exists() is created


def test_a_board_that_leaves_minutes_unpriced_or_overlaps_is_refused_by_name(
    world, admin_a, as_user
):
    RateVersion.objects.filter(pk=world.a.rate_version.pk).update(
        valid_to=datetime(2031, 1, 1, tzinfo=world.a.facility.tz)
    )
    client = as_user(admin_a)
    url = reverse("admin:facilities_rateversion_add")
    gap = rate_version_form(world.a.facility.pk, **{"bands-2-starts": "08:00"})
    overlap = rate_version_form(
        world.a.facility.pk,
        **{
            "bands-TOTAL_FORMS": "8",
            "bands-7-weekday": "0",
            "bands-7-starts": "07:00",
            "bands-7-ends": "09:00",
            "bands-7-unit_minutes": "30",
            "bands-7-unit_price": "1",
        },
    )
    clash = rate_version_form(world.a.facility.pk, valid_from_0="2030-06-01")

    gap_page = client.post(url, gap).content.decode()
    overlap_page = client.post(url, overlap).content.decode()
    clash_page = client.post(url, clash).content.decode()

    assert "Wed 00:00–08:00 has no band" in gap_page
    assert "Bands overlap on Mon from 07:00 to 09:00" in overlap_page
    assert "overlaps another version of the facility" in clash_page
    assert not RateVersion.objects.filter(label="Forged board").exists()


def test_editing_b_facility_by_forged_post_changes_nothing(world, admin_a, as_user):
    facility = world.b.facility

    response = as_user(admin_a).post(
        reverse("admin:facilities_facility_change", args=[facility.pk]),
        facility_form(world.a.operator, name="Hijacked", slug=facility.slug),
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    facility.refresh_from_db()
    assert (facility.name, facility.operator_id) == ("B Garage", world.b.operator.pk)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_deleting_b_rows_by_forged_post_deletes_nothing(case, world, admin_a, as_user):
    obj = case.obj(world.b)

    response = as_user(admin_a).post(
        reverse(f"admin:{case.url}_delete", args=[obj.pk]), {"post": "yes"}
    )

    assert response.status_code in (302, 403)
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bulk_delete_action_with_b_ids_deletes_nothing_of_b(case, world, admin_a, as_user):
    obj = case.obj(world.b)

    as_user(admin_a).post(
        reverse(f"admin:{case.url}_changelist"),
        {"action": "delete_selected", "_selected_action": [str(obj.pk)], "post": "yes"},
    )

    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize(("target", "created"), [("a", True), ("b", False)])
def test_memberships_only_into_own_operator(target, created, world, admin_a, bob, as_user):
    operator = getattr(world, target).operator

    as_user(admin_a).post(
        reverse("admin:parkme_membership_add"),
        {"email": bob.email, "operator": str(operator.pk), "role": "attendant"},
    )

    assert Membership.objects.filter(user=bob).exists() is created
    bob.refresh_from_db()
    assert bob.is_staff is created


def test_booking_actions_on_b_bookings_change_nothing(world, admin_a, as_user):
    booking = world.b.booking

    for action in ("check_in", "cancel"):
        as_user(admin_a).post(
            reverse("admin:bookings_booking_changelist"),
            {"action": action, "_selected_action": [str(booking.pk)], "reason": "forged"},
        )

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.events.count() == 1


def test_exports_never_contain_b_bookings(world, admin_a, as_user):
    picked = exported(as_user(admin_a), world.a.booking, world.b.booking)
    everything = exported(as_user(admin_a), world.a.booking, select_across=True)

    for _header, *rows in (picked, everything):
        assert [row[0] for row in rows] == [world.a.booking.reference]


def test_maintenance_action_on_b_spots_changes_nothing(world, admin_a, as_user):
    spot = world.b.spot

    as_user(admin_a).post(
        reverse("admin:facilities_spot_changelist"),
        {"action": "put_into_maintenance", "_selected_action": [str(spot.pk)]},
    )

    spot.refresh_from_db()
    assert spot.status == SpotStatus.AVAILABLE


def test_bulk_spots_into_b_zone_creates_nothing(world, admin_a, as_user):
    before = Spot.objects.filter(facility=world.b.facility).count()

    response = as_user(admin_a).post(
        reverse("admin:facilities_zone_add_spots", args=[world.b.zone.pk]),
        {"prefix": "X", "first": "1", "last": "5", "width": "2", "kind": "standard"},
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert Spot.objects.filter(facility=world.b.facility).count() == before


def test_b_dashboard_is_not_shown(world, admin_a, as_user):
    response = as_user(admin_a).get(
        reverse("admin:facilities_facility_dashboard", args=[world.b.facility.pk])
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_filters_list_only_own_facilities(world, admin_a, as_user):
    other = factories.FacilityFactory(operator=world.b.operator, name="B Second Garage")
    html = as_user(admin_a).get(reverse("admin:bookings_booking_changelist")).content.decode()

    assert "A Garage" in html
    assert "B Garage" not in html
    assert other.name not in html


def test_search_never_reaches_into_b(world, admin_a, as_user):
    for url, term in [
        ("admin:facilities_facility_changelist", "B Garage"),
        ("admin:facilities_spot_changelist", "SPOT-B1"),
        ("admin:bookings_booking_changelist", world.b.booking.reference),
        ("admin:parkme_membership_changelist", "member-b"),
    ]:
        html = as_user(admin_a).get(reverse(url), {"q": term}).content.decode()
        assert "0 results" in html or "0 total" in html, url


def test_staff_of_both_sees_both(world, admin_a, as_user):
    from parkme.services import membership_set

    membership_set(user=admin_a, operator=world.b.operator, role="attendant")
    html = as_user(admin_a).get(reverse("admin:bookings_booking_changelist")).content.decode()

    assert world.a.booking.reference in html
    assert world.b.booking.reference in html
    assert Booking.objects.count() == 2
