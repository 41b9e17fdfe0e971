"""Permits in the staff admin: products and their allocations, issuing, plates, suspending.

The world (tests/admin/conftest.py) gives each operator a facility with two standard spots
and one booking tomorrow. Here each facility also sells "Commuter": one allocated space,
100 % oversold (two permits at most), and one permit is already running on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.gate import gate_event_process
from bookings.models import Permit, PermitEvent, PermitProduct
from bookings.permits import PermitOrder, permit_create
from bookings.states import ActorKind, PermitAction, PermitStatus
from parkme.models import User
from tests import factories
from tests.admin.conftest import World
from vehicles.models import PlateLookup

pytestmark = pytest.mark.django_db

PERMITS = "admin:bookings_permit_changelist"
PERMIT_ADD = "admin:bookings_permit_add"
PRODUCTS = "admin:bookings_permitproduct_changelist"


@dataclass
class Sold:
    product_a: PermitProduct
    product_b: PermitProduct
    permit_a: Permit
    permit_b: Permit


@pytest.fixture
def sold(world: World, alice: User, bob: User) -> Sold:
    product_a = factories.permit_product(
        world.a.facility, name="Commuter A", allocated_spaces=1, oversell_percent=100
    )
    product_b = factories.permit_product(
        world.b.facility, name="Commuter B", allocated_spaces=1, oversell_percent=100
    )
    return Sold(
        product_a=product_a,
        product_b=product_b,
        permit_a=factories.permit(product_a, holder=alice, plates=("PRA-111",)),
        permit_b=factories.permit(product_b, holder=bob, plates=("PRB-222",)),
    )


def page(client, name: str, *args, **params) -> str:
    response = client.get(reverse(name, args=args or None), params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def today(product: PermitProduct) -> str:
    return timezone.now().astimezone(product.facility.tz).date().isoformat()


def issue(client, product: PermitProduct, **fields):
    data = {
        "holder_email": "",
        "company_name": "",
        "contact_email": "",
        "product": str(product.pk),
        "plates": "NEW-100",
        "valid_from": today(product),
        "auto_renew": "on",
        **fields,
    }
    return client.post(reverse(PERMIT_ADD), data)


def errors_of(response) -> str:
    """The form's errors as the page shows them (the form re-rendered, not a redirect)."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def act(client, action: str, *permits: Permit, reason: str | None = None):
    data = {"action": action, "_selected_action": [str(p.pk) for p in permits]}
    if reason is not None:  # the second step: the reason page posts back with "apply"
        data |= {"apply": "1", "reason": reason}
    else:
        data["index"] = "0"
    return client.post(reverse(PERMITS), data)


def permit_post(permit: Permit, **fields) -> dict:
    """A permit's change form as the page posts it (its read-only history included)."""
    events = list(permit.events.values_list("pk", flat=True))
    data = {
        "events-TOTAL_FORMS": str(len(events)),
        "events-INITIAL_FORMS": str(len(events)),
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    for i, pk in enumerate(events):
        data |= {f"events-{i}-id": str(pk), f"events-{i}-permit": str(permit.pk)}
    return data | fields


def product_post(product: PermitProduct, **changes) -> dict:
    """The product's change form as the page would post it, with ``changes``; hours as
    (weekdays, starts, ends) in ``hours``."""
    hours = changes.pop("hours", None)
    rows = list(product.hours.all())
    data = {
        "name": product.name,
        "spot_kind": product.spot_kind,
        "on_sale": "on" if product.on_sale else "",
        "monthly_price": str(product.monthly_price),
        "currency": product.currency,
        "vat_percent": str(product.vat_percent),
        "allocated_spaces": str(product.allocated_spaces),
        "oversell_percent": str(product.oversell_percent),
        "hours-TOTAL_FORMS": str(len(rows)),
        "hours-INITIAL_FORMS": str(len(rows)),
        "hours-MIN_NUM_FORMS": "1",
        "hours-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        weekdays, starts, ends = hours[i] if hours else (row.weekdays, row.starts, row.ends)
        data |= {
            f"hours-{i}-id": str(row.pk),
            f"hours-{i}-product": str(product.pk),
            f"hours-{i}-weekdays": [str(d) for d in weekdays],
            f"hours-{i}-starts": str(starts)[:5],
            f"hours-{i}-ends": str(ends)[:5],
        }
    data.update({k: str(v) for k, v in changes.items()})
    return data


# --- tenancy ------------------------------------------------------------------------------


def test_each_operator_lists_only_its_own_permits_and_products(sold, admin_a, admin_b, as_user):
    for staff, own, other in (
        (admin_a, sold.permit_a, sold.permit_b),
        (admin_b, sold.permit_b, sold.permit_a),
    ):
        client = as_user(staff)
        permits = page(client, PERMITS)
        products = page(client, PRODUCTS)

        assert own.reference in permits
        assert other.reference not in permits
        assert ", ".join(other.plates) not in permits
        assert own.product.name in products
        assert other.product.name not in products


def test_product_filter_offers_only_own_products(sold, admin_b, as_user):
    # The filter shows once there are two products to choose from.
    nights = factories.permit_product(sold.product_b.facility, name="Nights B")
    factories.permit(nights, plates=("NIB-1",))

    html = page(as_user(admin_b), PERMITS)

    assert f"product__id__exact={sold.product_b.pk}" in html
    assert f"product__id__exact={nights.pk}" in html
    assert "Commuter A" not in html
    assert f"product__id__exact={sold.product_a.pk}" not in html


def test_filtering_by_another_operators_product_lists_nothing(sold, admin_b, as_user):
    html = page(as_user(admin_b), PERMITS, product__id__exact=sold.product_a.pk)

    assert sold.permit_a.reference not in html


def test_product_autocomplete_offers_only_own_products(sold, admin_b, as_user):
    response = as_user(admin_b).get(
        reverse("admin:autocomplete"),
        {"app_label": "bookings", "model_name": "permit", "field_name": "product", "term": "Comm"},
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [str(sold.product_b)]


@pytest.mark.parametrize(
    ("url", "obj"),
    [
        ("admin:bookings_permit_change", lambda s: s.permit_a),
        ("admin:bookings_permit_history", lambda s: s.permit_a),
        ("admin:bookings_permitproduct_change", lambda s: s.product_a),
        ("admin:bookings_permitproduct_delete", lambda s: s.product_a),
    ],
)
def test_another_operators_rows_answer_as_missing(url, obj, sold, admin_b, as_user):
    client = as_user(admin_b)
    target = obj(sold)

    response = client.get(reverse(url, args=[target.pk]))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert "doesn’t exist" in client.get(response.url).content.decode()


def test_another_operators_permit_cannot_be_changed_or_deleted_by_forged_posts(
    sold, admin_b, as_user
):
    client = as_user(admin_b)
    permit = sold.permit_a

    client.post(
        reverse("admin:bookings_permit_change", args=[permit.pk]),
        permit_post(permit, plates="EVIL-1"),
    )
    client.post(reverse("admin:bookings_permit_delete", args=[permit.pk]), {"post": "yes"})
    client.post(
        reverse("admin:bookings_permitproduct_change", args=[sold.product_a.pk]),
        product_post(sold.product_a, allocated_spaces=0, name="Taken"),
    )

    permit.refresh_from_db()
    sold.product_a.refresh_from_db()
    assert permit.plates == ["PRA-111"]
    assert (sold.product_a.name, sold.product_a.allocated_spaces) == ("Commuter A", 1)


def test_actions_on_another_operators_permits_change_nothing(sold, admin_b, as_user):
    act(as_user(admin_b), "suspend", sold.permit_a, reason="forged")

    sold.permit_a.refresh_from_db()
    assert sold.permit_a.status == PermitStatus.ACTIVE
    assert list(sold.permit_a.events.values_list("action", flat=True)) == [PermitAction.CREATE]


def test_issuing_on_another_operators_product_is_refused(sold, admin_b, as_user):
    before = Permit.objects.count()

    response = issue(as_user(admin_b), sold.product_a, holder_email="alice@example.test")

    assert "Select a valid choice" in errors_of(response)
    assert Permit.objects.count() == before


def test_a_new_product_can_only_be_placed_in_own_facilities(world, admin_b, as_user):
    data = {
        "facility": str(world.a.facility.pk),
        "name": "Sneaky",
        "spot_kind": "standard",
        "on_sale": "on",
        "monthly_price": "10.00",
        "currency": "EUR",
        "vat_percent": "25.50",
        "allocated_spaces": "0",
        "oversell_percent": "0",
        "hours-TOTAL_FORMS": "1",
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "1",
        "hours-MAX_NUM_FORMS": "1000",
        "hours-0-weekdays": ["0", "1"],
        "hours-0-starts": "08:00",
        "hours-0-ends": "18:00",
    }

    response = as_user(admin_b).post(reverse("admin:bookings_permitproduct_add"), data)

    assert "Select a valid choice" in errors_of(response)
    assert not PermitProduct.objects.filter(name="Sneaky").exists()


# --- roles --------------------------------------------------------------------------------


def test_attendant_reads_permits_and_products_but_changes_nothing(sold, attendant_a, as_user):
    client = as_user(attendant_a)
    permit, product = sold.permit_a, sold.product_a

    listing = page(client, PERMITS)
    detail = page(client, "admin:bookings_permit_change", permit.pk)
    product_page = page(client, "admin:bookings_permitproduct_change", product.pk)

    assert permit.reference in listing
    assert 'name="_selected_action"' not in listing  # no actions offered
    assert "PRA-111" in detail
    assert 'name="plates"' not in detail
    assert "History" in detail
    assert 'name="allocated_spaces"' not in product_page
    assert client.get(reverse(PERMIT_ADD)).status_code == 403
    assert client.get(reverse("admin:bookings_permitproduct_add")).status_code == 403
    refused = client.post(
        reverse("admin:bookings_permit_change", args=[permit.pk]),
        permit_post(permit, plates="ATT-1"),
    )
    assert refused.status_code == 403


def test_attendant_cannot_suspend(sold, attendant_a, as_user):
    act(as_user(attendant_a), "suspend", sold.permit_a, reason="not mine to decide")

    sold.permit_a.refresh_from_db()
    assert sold.permit_a.status == PermitStatus.ACTIVE


# --- issuing ------------------------------------------------------------------------------


def test_admin_issues_a_permit_to_a_driver_by_e_mail(sold, admin_a, alice, as_user):
    form = page(as_user(admin_a), PERMIT_ADD)
    assert "Driver&#x27;s e-mail" in form
    assert "… or for a company fleet" in form
    response = issue(
        as_user(admin_a),
        sold.product_a,
        holder_email="Alice@Example.test",
        plates="NEW 100, new-200",
    )

    assert response.status_code == 302
    permit = Permit.objects.exclude(pk=sold.permit_a.pk).get(product=sold.product_a)
    assert (permit.holder, permit.plates, permit.plates_normalized) == (
        alice,
        ["NEW 100", "new-200"],
        ["NEW100", "NEW200"],
    )
    assert (permit.status, permit.auto_renew, permit.contact_email) == ("active", True, "")
    event = permit.events.get()
    assert (event.action, event.actor, event.actor_kind) == ("create", admin_a, "staff")


def test_admin_issues_a_permit_to_a_company_fleet(sold, admin_a, as_user):
    response = issue(
        as_user(admin_a),
        sold.product_a,
        company_name="Kuljetus Oy",
        contact_email="fleet@kuljetus.test",
        plates="FLT-1, FLT-2, FLT-3",
        auto_renew="",
    )

    assert response.status_code == 302
    permit = Permit.objects.get(company_name="Kuljetus Oy")
    assert permit.holder is None
    assert (permit.contact_email, permit.plates, permit.auto_renew) == (
        "fleet@kuljetus.test",
        ["FLT-1", "FLT-2", "FLT-3"],
        False,
    )
    assert permit.reference in page(as_user(admin_a), PERMITS)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"holder_email": "nobody@example.test"}, "No driver account has this e-mail."),
        ({}, "Give a driver's e-mail, or a company name and a contact e-mail."),
        ({"company_name": "Only a name"}, "A fleet permit needs this."),
        (
            {
                "holder_email": "alice@example.test",
                "company_name": "X",
                "contact_email": "x@x.test",
            },
            "not both",
        ),
        ({"holder_email": "alice@example.test", "plates": "A-1, B-2, C-3, D-4"}, "1 to 3 plates"),
        ({"holder_email": "alice@example.test", "plates": "!!!"}, "Not a licence plate"),
        ({"holder_email": "alice@example.test", "plates": "ab-1, AB1"}, "Each plate once."),
        ({"holder_email": "alice@example.test", "plates": "PRA 111"}, "PRA111 already has one."),
    ],
    ids=["unknown-email", "nobody", "half-fleet", "both", "four", "junk", "twice", "taken"],
)
def test_a_bad_issue_is_a_form_error_and_creates_nothing(sold, admin_a, as_user, fields, expected):
    before = (Permit.objects.count(), PermitEvent.objects.count())

    response = issue(as_user(admin_a), sold.product_a, **fields)

    assert expected in errors_of(response)
    assert (Permit.objects.count(), PermitEvent.objects.count()) == before


def test_a_sold_out_product_is_a_form_error_and_creates_nothing(sold, admin_a, bob, as_user):
    client = as_user(admin_a)
    assert issue(client, sold.product_a, holder_email=bob.email, plates="SEC-2").status_code == 302
    before = (Permit.objects.count(), PermitEvent.objects.count())

    response = issue(client, sold.product_a, holder_email=bob.email, plates="THR-3")

    assert "sold out" in errors_of(response)
    assert "sold out" in response.content.decode()
    assert (Permit.objects.count(), PermitEvent.objects.count()) == before


def test_staff_may_issue_a_product_that_is_off_sale_and_backdate_it(sold, admin_a, bob, as_user):
    PermitProduct.objects.filter(pk=sold.product_a.pk).update(on_sale=False)
    first_day = timezone.now().astimezone(sold.product_a.facility.tz).date() - timedelta(days=3)

    response = issue(
        as_user(admin_a), sold.product_a, holder_email=bob.email, valid_from=first_day.isoformat()
    )

    assert response.status_code == 302
    assert Permit.objects.get(holder=bob, product=sold.product_a).first_day == first_day


# --- the permit's page --------------------------------------------------------------------


def test_admin_changes_plates_through_the_service(sold, admin_a, as_user):
    permit = sold.permit_a
    url = reverse("admin:bookings_permit_change", args=[permit.pk])
    client = as_user(admin_a)
    assert 'value="PRA-111"' in page(client, "admin:bookings_permit_change", permit.pk)

    response = client.post(url, permit_post(permit, plates="PRA-111, PRA-999"))

    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.plates_normalized == ["PRA111", "PRA999"]
    event = permit.events.get(action=PermitAction.CHANGE_PLATES)
    assert (event.actor, event.data["after"]) == (admin_a, ["PRA-111", "PRA-999"])


def test_a_plate_change_while_the_vehicle_is_inside_is_a_form_error(
    sold, admin_a, device_a, as_user
):
    gate_event_process(
        device=device_a, facility=sold.product_a.facility, plate="PRA-111", direction="entry"
    )
    url = reverse("admin:bookings_permit_change", args=[sold.permit_a.pk])

    response = as_user(admin_a).post(url, permit_post(sold.permit_a, plates="PRA-555"))

    assert "inside" in errors_of(response)
    sold.permit_a.refresh_from_db()
    assert sold.permit_a.plates == ["PRA-111"]


# --- suspend and reactivate ---------------------------------------------------------------


def test_suspend_asks_for_a_reason_then_records_it(sold, admin_a, as_user):
    client = as_user(admin_a)
    permit = sold.permit_a

    asked = act(client, "suspend", permit)
    assert asked.status_code == 200
    assert "give a reason" in asked.content.decode()
    permit.refresh_from_db()
    assert permit.status == PermitStatus.ACTIVE  # nothing happens before the reason

    done = act(client, "suspend", permit, reason="Unpaid invoice 42")

    assert done.status_code == 302
    permit.refresh_from_db()
    assert (permit.status, permit.status_reason) == ("suspended", "Unpaid invoice 42")
    event = permit.events.get(action=PermitAction.SUSPEND)
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        "active",
        "suspended",
        admin_a,
        "Unpaid invoice 42",
    )
    messages = [str(m) for m in client.get(reverse(PERMITS)).context["messages"]]
    assert messages == [f"Suspended: {permit.reference}."]

    act(client, "reactivate", permit, reason="Paid")

    permit.refresh_from_db()
    assert permit.status == PermitStatus.ACTIVE
    assert permit.events.get(action=PermitAction.REACTIVATE).reason == "Paid"
    assert "Paid" in page(client, "admin:bookings_permit_change", permit.pk)  # history inline


def test_an_empty_reason_asks_again(sold, admin_a, as_user):
    response = act(as_user(admin_a), "suspend", sold.permit_a, reason="  ")

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    sold.permit_a.refresh_from_db()
    assert sold.permit_a.status == PermitStatus.ACTIVE


def test_an_illegal_move_is_a_message_not_an_error_page(sold, admin_a, as_user):
    client = as_user(admin_a)

    response = act(client, "reactivate", sold.permit_a, reason="already active")

    assert response.status_code == 302
    messages = [str(m) for m in client.get(reverse(PERMITS)).context["messages"]]
    assert messages == [f"{sold.permit_a.reference}: Cannot reactivate a permit that is active."]
    assert sold.permit_a.events.count() == 1


# --- search -------------------------------------------------------------------------------


def test_plate_search_finds_the_permit_and_is_recorded(sold, admin_a, as_user):
    client = as_user(admin_a)

    found = page(client, PERMITS, q="pra 111")
    page(client, PERMITS, q="PRB-222")  # B's plate: not found, still a look-up

    assert sold.permit_a.reference in found
    lookups = list(
        PlateLookup.objects.filter(staff=admin_a)
        .order_by("id")
        .values_list("operator_id", "query", "context")
    )
    assert lookups == [
        (sold.product_a.facility.operator_id, "pra 111", "admin:permit-search"),
        (sold.product_a.facility.operator_id, "PRB-222", "admin:permit-search"),
    ]


def test_search_by_reference_and_e_mail(sold, admin_a, as_user):
    client = as_user(admin_a)
    fleet = permit_create(
        order=PermitOrder(
            product_id=sold.product_a.pk,
            plates=["FLT-9"],
            valid_from=timezone.now().astimezone(sold.product_a.facility.tz).date(),
            company_name="Fleet Oy",
            contact_email="fleet@example.test",
        ),
        actor=admin_a,
        actor_kind=ActorKind.STAFF,
    )

    assert sold.permit_a.reference in page(client, PERMITS, q=sold.permit_a.reference.lower())
    by_holder = page(client, PERMITS, q="ALICE@example.test")
    by_contact = page(client, PERMITS, q="fleet@example.test")
    assert sold.permit_a.reference in by_holder
    assert fleet.reference not in by_holder
    assert fleet.reference in by_contact
    assert sold.permit_a.reference not in by_contact
    assert sold.permit_b.reference not in page(client, PERMITS, q="bob@example.test")


# --- products and allocations -------------------------------------------------------------


def test_an_allocation_the_facility_cannot_hold_is_a_form_error_and_saves_nothing(
    sold, admin_a, as_user
):
    """Two spots, one booked tomorrow: one more booking plus two allocated would need 3."""
    product = sold.product_a
    url = reverse("admin:bookings_permitproduct_change", args=[product.pk])

    response = as_user(admin_a).post(
        url, product_post(product, allocated_spaces=2, name="Renamed too")
    )

    errors = errors_of(response)
    assert "Not enough standard spots" in errors
    assert "More than the facility can hold with its bookings." in errors
    product.refresh_from_db()
    assert (product.allocated_spaces, product.name) == (1, "Commuter A")


def test_hours_that_the_facility_cannot_hold_are_refused_too(sold, admin_a, as_user):
    """A second product, allocating one space only at night: moving it to all day collides
    with tomorrow's booking (1 booking + 2 allocated > 2 spots)."""
    night = factories.permit_product(
        sold.product_a.facility,
        name="Nights",
        hours=((range(7), "22:00", "06:00"),),
        allocated_spaces=1,
    )
    url = reverse("admin:bookings_permitproduct_change", args=[night.pk])

    response = as_user(admin_a).post(url, product_post(night, hours=[(range(7), "00:00", "00:00")]))

    assert "Not enough standard spots" in errors_of(response)
    assert [(h.starts.hour, h.ends.hour) for h in night.hours.all()] == [(22, 6)]


def test_an_allocation_that_fits_is_saved(sold, admin_a, as_user):
    product = sold.product_a
    url = reverse("admin:bookings_permitproduct_change", args=[product.pk])

    response = as_user(admin_a).post(
        url, product_post(product, allocated_spaces=0, hours=[([0, 1, 2, 3, 4], "07:00", "19:00")])
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.allocated_spaces == 0
    assert [(h.weekdays, h.starts.hour) for h in product.hours.all()] == [([0, 1, 2, 3, 4], 7)]


def test_a_new_product_is_checked_against_the_facility(world, admin_a, as_user):
    data = {
        "facility": str(world.a.facility.pk),
        "name": "Too big",
        "spot_kind": "standard",
        "on_sale": "on",
        "monthly_price": "90.00",
        "currency": "EUR",
        "vat_percent": "25.50",
        "allocated_spaces": "2",
        "oversell_percent": "0",
        "hours-TOTAL_FORMS": "1",
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "1",
        "hours-MAX_NUM_FORMS": "1000",
        "hours-0-weekdays": [str(d) for d in range(7)],
        "hours-0-starts": "00:00",
        "hours-0-ends": "00:00",
    }
    client = as_user(admin_a)

    refused = client.post(reverse("admin:bookings_permitproduct_add"), data)
    assert "Not enough standard spots" in errors_of(refused)
    assert not PermitProduct.objects.filter(name="Too big").exists()

    data["allocated_spaces"] = "1"
    accepted = client.post(reverse("admin:bookings_permitproduct_add"), data)
    assert accepted.status_code == 302
    assert PermitProduct.objects.get(name="Too big").hours.count() == 1


def test_a_product_name_is_unique_within_its_facility(sold, admin_a, as_user):
    other = factories.permit_product(sold.product_a.facility, name="Residents", allocated_spaces=0)
    url = reverse("admin:bookings_permitproduct_change", args=[other.pk])

    response = as_user(admin_a).post(url, product_post(other, name="Commuter A"))

    assert "Another product of this facility has this name." in errors_of(response)


# --- no N+1 -------------------------------------------------------------------------------


def test_permit_changelist_runs_a_fixed_number_of_queries(
    sold, admin_a, as_user, django_assert_max_num_queries
):
    client = as_user(admin_a)
    page(client, PERMITS)  # session and user caches warm
    with django_assert_max_num_queries(9) as one_row:
        page(client, PERMITS)
    PermitProduct.objects.filter(pk=sold.product_a.pk).update(allocated_spaces=40)
    for n in range(30):
        factories.permit(sold.product_a, plates=(f"BULK-{n:03d}",))

    with django_assert_max_num_queries(9) as many_rows:
        html = page(client, PERMITS)
    with django_assert_max_num_queries(10):  # a filter and a (recorded) plate search
        page(client, PERMITS, q="BULK-007", status__exact="active")

    assert html.count('name="_selected_action"') == 31
    assert len(many_rows) == len(one_row)


def test_product_changelist_runs_a_fixed_number_of_queries(
    sold, admin_a, as_user, django_assert_max_num_queries
):
    client = as_user(admin_a)
    page(client, PRODUCTS)
    with django_assert_max_num_queries(10) as one_row:
        page(client, PRODUCTS)
    for n in range(10):
        factories.permit_product(sold.product_a.facility, name=f"P{n}", allocated_spaces=0)

    with django_assert_max_num_queries(10) as many_rows:
        page(client, PRODUCTS)

    assert len(many_rows) == len(one_row)


# --- the dashboard ------------------------------------------------------------------------


def test_dashboard_shows_permit_holders_inside_against_the_allocation(
    sold, admin_a, device_a, as_user, django_assert_max_num_queries
):
    facility = sold.product_a.facility
    gate_event_process(device=device_a, facility=facility, plate="PRA-111", direction="entry")
    client = as_user(admin_a)
    url = reverse("admin:facilities_facility_dashboard", args=[facility.pk])
    client.get(url)

    with django_assert_max_num_queries(15) as one_product:
        response = client.get(url)

    rows = {
        p.name: (p.inside, p.allocated, p.running, p.in_force)
        for p in response.context["permit_products"]
    }
    assert rows == {"Commuter A": (1, 1, 1, True)}
    html = response.content.decode()
    assert "Permit holders inside now: 1" in html
    assert "1 space allocated to permits now" in html

    # More products and holders cost no more queries.
    for n in range(3):
        more = factories.permit_product(facility, name=f"Extra {n}", allocated_spaces=1)
        factories.permit(more, plates=(f"EXT-{n}",))
        gate_event_process(device=device_a, facility=facility, plate=f"EXT-{n}", direction="entry")
    with django_assert_max_num_queries(15) as four_products:
        response = client.get(url)
    assert len(four_products) == len(one_product)
    inside = {p.name: p.inside for p in response.context["permit_products"]}
    assert inside == {"Commuter A": 1, "Extra 0": 1, "Extra 1": 1, "Extra 2": 1}
