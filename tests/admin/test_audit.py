"""Staff changes are logged and visible on each object's history page."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from tests.admin.test_bookings_admin import act, booking_now
from tests.admin.test_tenancy import facility_form


def history(client, url_name: str, pk: int) -> str:
    response = client.get(reverse(f"admin:{url_name}_history", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_facility_change_shows_in_its_history(world, admin_a, as_user):
    client = as_user(admin_a)
    facility = world.a.facility

    client.post(
        reverse("admin:facilities_facility_change", args=[facility.pk]),
        facility_form(world.a.operator, name="A Garage North", slug=facility.slug),
    )

    facility.refresh_from_db()
    assert facility.name == "A Garage North"
    html = history(client, "facilities_facility", facility.pk)
    assert "admin@a.test" in html
    assert "Changed Name" in html
    entry = LogEntry.objects.get(object_id=str(facility.pk))
    helsinki = timezone.localtime(entry.action_time, ZoneInfo("Europe/Helsinki"))
    assert date_format(helsinki, "DATETIME_FORMAT") in html  # the operator's local time


def test_booking_actions_show_in_the_bookings_history(world, admin_a, attendant_a, as_user):
    booking = booking_now(world.a.zone)
    act(as_user(attendant_a), "check_in", booking)

    html = history(as_user(admin_a), "bookings_booking", booking.pk)

    assert "attendant@a.test" in html
    assert "checked in" in html


def test_membership_changes_are_logged(world, admin_a, bob, as_user):
    client = as_user(admin_a)
    client.post(
        reverse("admin:parkme_membership_add"),
        {"email": bob.email, "operator": world.a.operator.pk, "role": "attendant"},
    )
    membership = bob.memberships.get()

    html = history(client, "parkme_membership", membership.pk)

    assert "Added." in html
