"""Role matrix: admin, attendant, device, driver (and an outsider) in operator A's admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.states import BookingStatus
from facilities.models import RateVersion, SpotStatus
from parkme.models import Role
from parkme.services import ROLE_GROUPS, membership_remove, membership_set
from tests import factories
from tests.admin.test_tenancy import rate_version_form

STAFF_LOGIN_ERROR = "Please enter the correct email and password for a staff account"


def admin_login(user) -> Client:
    client = Client()
    response = client.post(
        reverse("admin:login"),
        {"username": user.email, "password": factories.PASSWORD, "next": "/admin/"},
    )
    client.login_response = response
    return client


@pytest.mark.parametrize(
    ("persona", "may_log_in"),
    [
        ("admin_a", True),
        ("attendant_a", True),
        ("device_a", False),
        ("alice", False),
        ("bob", False),
    ],
)
def test_only_admins_and_attendants_log_in_to_the_admin(persona, may_log_in, request):
    user = request.getfixturevalue(persona)

    client = admin_login(user)

    if may_log_in:
        assert client.login_response.status_code == 302
        assert client.get(reverse("admin:index")).status_code == 200
    else:
        assert client.login_response.status_code == 200
        assert STAFF_LOGIN_ERROR in client.login_response.content.decode()
        assert client.get(reverse("admin:index")).status_code == 302


# (url name, args from the world of A) → expected status for admin / attendant
MATRIX = [
    ("admin:facilities_facility_changelist", None, 200, 200),
    ("admin:facilities_facility_add", None, 200, 403),
    ("admin:facilities_zone_changelist", None, 200, 200),
    ("admin:facilities_zone_add", None, 200, 403),
    ("admin:facilities_spot_changelist", None, 200, 200),
    ("admin:facilities_spot_add", None, 200, 403),
    # Attendants read rate boards; only admins edit them.
    ("admin:facilities_rateversion_changelist", None, 200, 200),
    ("admin:facilities_rateversion_change", "rate_version", 200, 200),
    ("admin:facilities_rateversion_add", None, 200, 403),
    ("admin:parkme_membership_changelist", None, 200, 403),
    ("admin:parkme_membership_add", None, 200, 403),
    ("admin:bookings_booking_changelist", None, 200, 200),
    ("admin:bookings_booking_change", "booking", 200, 200),
    ("admin:bookings_notification_changelist", None, 200, 200),
    ("admin:vehicles_platelookup_changelist", None, 200, 403),
    ("admin:facilities_facility_dashboard", "facility", 200, 200),
    ("admin:facilities_zone_add_spots", "zone", 200, 403),
]


@pytest.mark.parametrize(("url", "arg", "for_admin", "for_attendant"), MATRIX)
def test_role_matrix(url, arg, for_admin, for_attendant, world, admin_a, attendant_a, as_user):
    args = [getattr(world.a, arg).pk] if arg else None
    path = reverse(url, args=args)

    assert as_user(admin_a).get(path).status_code == for_admin
    assert as_user(attendant_a).get(path).status_code == for_attendant


@pytest.mark.parametrize("persona", ["device_a", "alice", "bob"])
def test_devices_drivers_and_outsiders_are_sent_to_the_login(persona, world, request, as_user):
    user = request.getfixturevalue(persona)

    for url, arg, *_ in MATRIX:
        path = reverse(url, args=[getattr(world.a, arg).pk] if arg else None)
        response = as_user(user).get(path)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login"))


def test_attendant_sees_facility_and_spot_pages_read_only(world, attendant_a, as_user):
    client = as_user(attendant_a)
    spot = world.a.spot

    page = client.get(reverse("admin:facilities_spot_change", args=[spot.pk])).content.decode()
    forged = client.post(
        reverse("admin:facilities_spot_change", args=[spot.pk]),
        {"zone": world.a.zone.pk, "code": "RENAMED", "kind": "ev", "status": "available"},
    )

    assert 'name="_save"' not in page
    assert forged.status_code == 403
    spot.refresh_from_db()
    assert spot.code == "SPOT-A1"


def test_attendant_cannot_change_rates_or_memberships(world, attendant_a, bob, as_user):
    client = as_user(attendant_a)

    page = client.get(
        reverse("admin:facilities_rateversion_change", args=[world.a.rate_version.pk])
    ).content.decode()
    forged = client.post(
        reverse("admin:facilities_rateversion_change", args=[world.a.rate_version.pk]),
        rate_version_form(world.a.facility.pk, label="Cheap now", daily_max="0.10"),
    )
    client.post(
        reverse("admin:parkme_membership_add"),
        {"email": bob.email, "operator": world.a.operator.pk, "role": "admin"},
    )

    assert 'name="_save"' not in page  # the board reads, but has no save button
    assert forged.status_code == 403
    version = RateVersion.objects.get(pk=world.a.rate_version.pk)
    assert (version.label, version.daily_max) == (
        world.a.rate_version.label,
        world.a.rate_version.daily_max,
    )
    assert not bob.memberships.exists()


def test_attendant_cannot_put_spots_into_maintenance(world, attendant_a, as_user):
    client = as_user(attendant_a)
    changelist = client.get(reverse("admin:facilities_spot_changelist")).content.decode()

    client.post(
        reverse("admin:facilities_spot_changelist"),
        {"action": "put_into_maintenance", "_selected_action": [world.a.spot.pk]},
    )

    assert "put_into_maintenance" not in changelist
    world.a.spot.refresh_from_db()
    assert world.a.spot.status == SpotStatus.AVAILABLE


def test_attendant_checks_a_booking_in(world, attendant_a, as_user):
    starts_at = timezone.now() + timedelta(minutes=5)
    booking = factories.BookingFactory(
        spot=factories.SpotFactory(zone=world.a.zone),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
    )

    as_user(attendant_a).post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "check_in", "_selected_action": [booking.pk]},
    )

    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_admin_of_a_and_attendant_of_b_writes_only_in_a(world, admin_a, as_user):
    membership_set(user=admin_a, operator=world.b.operator, role=Role.ATTENDANT)
    client = as_user(admin_a)

    b_facility = client.get(
        reverse("admin:facilities_facility_change", args=[world.b.facility.pk])
    ).content.decode()
    b_rates = client.get(reverse("admin:facilities_rateversion_changelist")).content.decode()
    forged = client.post(
        reverse("admin:facilities_facility_change", args=[world.b.facility.pk]),
        {
            "operator": world.b.operator.pk,
            "name": "Renamed",
            "slug": "b-garage",
            "latitude": "60.1",
            "longitude": "24.9",
            "timezone": "Europe/Helsinki",
        },
    )

    assert "B Garage" in b_facility  # attendants of B view its facilities…
    assert 'name="_save"' not in b_facility  # …but do not edit them
    assert forged.status_code == 403
    world.b.facility.refresh_from_db()
    assert world.b.facility.name == "B Garage"
    # Rate boards of both operators are readable, and only A's can be saved.
    a_board, b_board = (
        reverse("admin:facilities_rateversion_change", args=[t.rate_version.pk])
        for t in (world.a, world.b)
    )
    assert a_board in b_rates
    assert b_board in b_rates
    assert 'name="_save"' in client.get(a_board).content.decode()
    assert 'name="_save"' not in client.get(b_board).content.decode()


# --- groups follow memberships -----------------------------------------------------------


def group_names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_membership_puts_staff_in_the_group_of_their_role(operator_a, operator_b, alice):
    membership_set(user=alice, operator=operator_a, role=Role.ADMIN)
    alice.refresh_from_db()
    assert group_names(alice) == {"Operator admin"}
    assert alice.is_staff

    membership_set(user=alice, operator=operator_b, role=Role.ATTENDANT)
    assert group_names(alice) == {"Operator admin", "Operator attendant"}

    membership = membership_set(user=alice, operator=operator_a, role=Role.DEVICE)
    assert group_names(alice) == {"Operator attendant"}

    membership_remove(membership=alice.memberships.get(operator=operator_b))
    alice.refresh_from_db()
    assert group_names(alice) == set()
    assert not alice.is_staff
    assert membership.role == Role.DEVICE


def test_membership_admin_add_and_remove_keep_login_and_groups_in_sync(
    world, admin_a, bob, as_user
):
    client = as_user(admin_a)

    client.post(
        reverse("admin:parkme_membership_add"),
        {"email": bob.email.upper(), "operator": world.a.operator.pk, "role": "attendant"},
    )
    bob.refresh_from_db()
    assert bob.is_staff
    assert group_names(bob) == {"Operator attendant"}

    membership = bob.memberships.get()
    client.post(reverse("admin:parkme_membership_delete", args=[membership.pk]), {"post": "yes"})
    bob.refresh_from_db()
    assert not bob.is_staff
    assert group_names(bob) == set()


def test_staff_groups_migration_is_reversible(transactional_db):
    # Transactional: migrating back unapplies an index built CONCURRENTLY, which PostgreSQL
    # cannot drop inside a transaction.
    call_command("migrate", "parkme", "0001", verbosity=0)
    assert not Group.objects.filter(name__in=ROLE_GROUPS.values()).exists()

    call_command("migrate", "parkme", verbosity=0)
    admin_perms = set(
        Group.objects.get(name="Operator admin").permissions.values_list("codename", flat=True)
    )
    attendant_perms = set(
        Group.objects.get(name="Operator attendant").permissions.values_list("codename", flat=True)
    )
    assert {"add_membership", "change_booking"} <= admin_perms
    assert "change_booking" in attendant_perms
    assert not attendant_perms & {"change_rateversion", "view_membership"}
    # The rate tables' grants (facilities' own migration) come back with the rest.
    call_command("migrate", verbosity=0)
    admin_perms = set(
        Group.objects.get(name="Operator admin").permissions.values_list("codename", flat=True)
    )
    attendant_perms = set(
        Group.objects.get(name="Operator attendant").permissions.values_list("codename", flat=True)
    )
    assert {"change_rateversion", "add_rateband", "change_earlybird"} <= admin_perms
    assert "view_rateversion" in attendant_perms
    assert "change_rateversion" not in attendant_perms


def test_an_admin_cannot_demote_or_remove_themselves(world, admin_a, as_user):
    client = as_user(admin_a)
    own = admin_a.memberships.get()

    page = client.get(reverse("admin:parkme_membership_change", args=[own.pk])).content.decode()
    client.post(reverse("admin:parkme_membership_change", args=[own.pk]), {"role": "device"})
    client.post(reverse("admin:parkme_membership_delete", args=[own.pk]), {"post": "yes"})
    client.post(
        reverse("admin:parkme_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"},
    )

    assert 'name="role"' not in page
    own.refresh_from_db()
    assert own.role == Role.ADMIN
    admin_a.refresh_from_db()
    assert admin_a.is_staff


def test_an_admin_changes_a_colleagues_role(world, admin_a, as_user):
    colleague = world.a.membership

    as_user(admin_a).post(
        reverse("admin:parkme_membership_change", args=[colleague.pk]), {"role": "admin"}
    )

    colleague.refresh_from_db()
    assert colleague.role == Role.ADMIN
    assert group_names(colleague.user) == {"Operator admin"}


def test_new_facility_form_starts_with_the_admins_operator(world, admin_a, as_user):
    response = as_user(admin_a).get(reverse("admin:facilities_facility_add"))

    assert response.context["adminform"].form.initial["operator"] == world.a.operator.pk
