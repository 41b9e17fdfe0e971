"""The bookings changelist on a busy day: filters, search, actions, history, query count."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from bookings.models import BookingEvent, Notification, NotificationKind
from bookings.states import BookingStatus
from tests import factories
from tests.admin.conftest import bookings_at
from vehicles.models import PlateLookup

CHANGELIST = "admin:bookings_booking_changelist"


def listed(client, **params) -> str:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return response.content.decode()


def booking_now(zone, **kwargs):
    """Confirmed, starting in five minutes: inside the check-in window."""
    starts_at = timezone.now() + timedelta(minutes=5)
    return factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        **kwargs,
    )


def act(client, action: str, *bookings, reason: str = ""):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [b.pk for b in bookings], "reason": reason},
        follow=True,
    )


# --- filters ------------------------------------------------------------------------------


def test_filter_by_status(world, admin_a, as_user):
    cancelled = factories.BookingFactory(
        spot=factories.SpotFactory(zone=world.a.zone), status=BookingStatus.CANCELLED
    )

    html = listed(as_user(admin_a), status__exact=BookingStatus.CANCELLED)

    assert cancelled.reference in html
    assert world.a.booking.reference not in html


def test_filter_by_facility(world, admin_a, as_user):
    second = factories.FacilityFactory(operator=world.a.operator, name="A Annex")
    other = factories.BookingFactory(
        spot=factories.SpotFactory(zone=factories.ZoneFactory(facility=second))
    )

    html = listed(as_user(admin_a), facility__id__exact=second.pk)

    assert other.reference in html
    assert world.a.booking.reference not in html
    assert "A Annex" in listed(as_user(admin_a))  # offered as a filter choice


def test_day_filter_uses_the_facilitys_local_day(world, admin_a, as_user):
    """00:30 on 1 July in Auckland is still 30 June in UTC: it belongs to 1 July."""
    facility = factories.FacilityFactory(operator=world.a.operator, timezone="Pacific/Auckland")
    zone = factories.ZoneFactory(facility=facility)
    starts_at = datetime(2031, 7, 1, 0, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    late_night = factories.BookingFactory(
        spot=factories.SpotFactory(zone=zone),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
    )
    client = as_user(admin_a)

    assert late_night.reference in listed(client, day="2031-07-01")
    assert late_night.reference not in listed(client, day="2031-06-30")


def test_day_filter_today_and_tomorrow(world, admin_a, as_user):
    today = booking_now(world.a.zone)
    client = as_user(admin_a)

    assert today.reference in listed(client, day="today")
    assert world.a.booking.reference not in listed(client, day="today")  # it is tomorrow's
    assert world.a.booking.reference in listed(client, day="tomorrow")


def test_day_filter_rejects_nonsense(world, admin_a, as_user):
    response = as_user(admin_a).get(reverse(CHANGELIST), {"day": "someday"})

    assert response.status_code == 302
    assert "e=1" in response.url


# --- search -------------------------------------------------------------------------------


def test_search_by_reference(world, admin_a, as_user):
    html = listed(as_user(admin_a), q=world.a.booking.reference.lower())

    assert world.a.booking.reference in html


def test_search_by_plate_as_typed_in_any_spacing(world, admin_a, as_user):
    other = booking_now(world.a.zone)

    html = listed(as_user(admin_a), q="aaa 111")

    assert world.a.booking.vehicle.plate == "AAA-111"
    assert world.a.booking.reference in html
    assert other.reference not in html


def test_each_plate_search_is_recorded_as_a_personal_data_lookup(world, admin_a, as_user):
    client = as_user(admin_a)

    listed(client, q="AAA-111")
    listed(client, q="BAA-111")  # B's plate: not found, still a look-up

    lookups = list(
        PlateLookup.objects.filter(staff=admin_a)
        .order_by("id")
        .values_list("operator_id", "query", "context")
    )
    assert lookups == [
        (world.a.operator.pk, "AAA-111", "admin:booking-search"),
        (world.a.operator.pk, "BAA-111", "admin:booking-search"),
    ]


def test_search_by_driver_email(world, admin_a, as_user):
    other = booking_now(world.a.zone)

    html = listed(as_user(admin_a), q="ALICE@example.test")

    assert world.a.booking.reference in html
    assert world.b.booking.reference not in html  # alice booked at B too: not ours
    assert other.reference not in html


def test_times_are_shown_in_the_facilitys_time_zone(world, admin_a, as_user):
    booking = world.a.booking
    local = booking.starts_at.astimezone(ZoneInfo("Europe/Helsinki")).strftime("%Y-%m-%d %H:%M")

    assert local in listed(as_user(admin_a))


# --- no N+1 -------------------------------------------------------------------------------


def test_changelist_of_100_bookings_runs_a_fixed_number_of_queries(
    world, admin_a, as_user, django_assert_max_num_queries
):
    client = as_user(admin_a)
    client.get(reverse(CHANGELIST))  # session and user caches warm
    with django_assert_max_num_queries(9) as one_row:
        listed(client)
    bookings_at(world.a.facility, 99)

    with django_assert_max_num_queries(9) as hundred_rows:
        html = listed(client)
    # Every filter and a (recorded) plate search at once: a fixed few more.
    with django_assert_max_num_queries(10):
        listed(client, day="today", q="AAA-111", status__exact=BookingStatus.CONFIRMED)

    assert html.count('name="_selected_action"') == 100
    assert len(hundred_rows) == len(one_row)


# --- actions ------------------------------------------------------------------------------


def test_check_in_from_the_changelist_goes_through_the_booking_engine(world, admin_a, as_user):
    booking = booking_now(world.a.zone)

    response = act(as_user(admin_a), "check_in", booking)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert booking.checked_in_at is not None
    event = booking.events.get()
    assert (event.from_status, event.to_status, event.actor, event.actor_kind) == (
        BookingStatus.CONFIRMED,
        BookingStatus.ACTIVE,
        admin_a,
        "staff",
    )
    assert f"Checked in: {booking.reference}." in response.content.decode()
    assert LogEntry.objects.filter(object_id=str(booking.pk), user=admin_a).exists()


def test_check_out_completes_an_active_booking(world, admin_a, as_user):
    booking = booking_now(world.a.zone)
    client = as_user(admin_a)
    act(client, "check_in", booking)

    act(client, "check_out", booking)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    assert booking.checked_out_at is not None


def test_cancel_with_a_reason_tells_the_driver(world, admin_a, as_user):
    booking = world.a.booking

    act(as_user(admin_a), "cancel", booking, reason="Level closed for cleaning")

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.events.last().reason == "Level closed for cleaning"
    assert Notification.objects.filter(booking=booking, kind=NotificationKind.CANCELLED).exists()


def test_cancel_without_a_reason_is_refused(world, admin_a, as_user):
    booking = world.a.booking

    response = act(as_user(admin_a), "cancel", booking)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert "Give a reason to cancel" in response.content.decode()


def test_refused_transitions_show_the_engines_message_and_change_nothing(world, admin_a, as_user):
    tomorrow = world.a.booking
    ready = booking_now(world.a.zone)

    response = act(as_user(admin_a), "check_in", tomorrow, ready)

    tomorrow.refresh_from_db()
    ready.refresh_from_db()
    assert tomorrow.status == BookingStatus.CONFIRMED
    assert ready.status == BookingStatus.ACTIVE
    html = response.content.decode()
    assert f"{tomorrow.reference}: Check-in is open from" in html
    assert BookingEvent.objects.filter(booking=tomorrow).count() == 1


def test_checked_out_booking_cannot_be_cancelled(world, admin_a, as_user):
    booking = booking_now(world.a.zone)
    client = as_user(admin_a)
    act(client, "check_in", booking)

    response = act(client, "cancel", booking, reason="too late")

    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE
    assert "Cannot cancel a booking that is active." in response.content.decode()


# --- the booking page ---------------------------------------------------------------------


def test_booking_page_shows_its_history_and_is_read_only(world, admin_a, as_user):
    booking = world.a.booking
    act(as_user(admin_a), "cancel", booking, reason="Driver phoned in")

    html = (
        as_user(admin_a)
        .get(reverse("admin:bookings_booking_change", args=[booking.pk]))
        .content.decode()
    )

    assert "History (state changes)" in html
    assert "Driver phoned in" in html
    assert BookingStatus.CANCELLED in html
    assert 'name="_save"' not in html
    assert "alice@example.test" in html


@pytest.mark.parametrize("persona", ["admin_a", "attendant_a"])
def test_no_one_adds_or_deletes_bookings_in_the_admin(persona, world, request, as_user):
    client = as_user(request.getfixturevalue(persona))

    assert client.get(reverse("admin:bookings_booking_add")).status_code == 403
    response = client.post(
        reverse("admin:bookings_booking_delete", args=[world.a.booking.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    world.a.booking.refresh_from_db()


# --- export -------------------------------------------------------------------------------


def exported(client, *bookings, select_across: bool = False) -> list[list[str]]:
    response = client.post(
        reverse(CHANGELIST),
        {
            "action": "export_csv",
            "_selected_action": [b.pk for b in bookings],
            "select_across": "1" if select_across else "0",
        },
    )
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_export_selected_bookings_as_csv_in_local_time(world, attendant_a, as_user):
    booking = world.a.booking
    booking.facility.name = "=HYPERLINK()"
    booking.facility.save()

    header, *rows = exported(as_user(attendant_a), booking)

    local_start = booking.starts_at.astimezone(ZoneInfo("Europe/Helsinki"))
    assert header[:5] == ["reference", "facility", "spot", "starts (local)", "ends (local)"]
    assert rows == [
        [
            booking.reference,
            "'=HYPERLINK()",  # never a live formula in a spreadsheet
            "SPOT-A1",
            local_start.strftime("%Y-%m-%d %H:%M"),
            (local_start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"),
            "Europe/Helsinki",
            BookingStatus.CONFIRMED,
            "6.00",
            "0.00",
            "EUR",
        ]
    ]
    assert "alice@example.test" not in str(rows)  # personal data stays out of exports
    assert "AAA-111" not in str(rows)
