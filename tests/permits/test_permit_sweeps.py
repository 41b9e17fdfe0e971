"""The permit sweeps as a holder or operator sees them: an auto-renewing permit gets exactly
one new period each month at the product's price then, a permit that does not renew runs to
the end of what was paid and then stops letting its plates in, each holder hears of each
thing once, and the mails show local times (Helsinki, across daylight saving)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from bookings import notifications
from bookings.models import (
    PERMIT_NOTIFICATION_KINDS,
    Notification,
    NotificationKind,
    NotificationStatus,
    Permit,
    PermitEvent,
    PermitProduct,
)
from bookings.notifications import Outcome
from bookings.permit_sweeps import permit_sweep_run
from bookings.permits import (
    PermitOrder,
    permit_cancel,
    permit_create,
    permit_is_valid_at,
    permit_suspend,
)
from bookings.states import ActorKind, PermitAction, PermitStatus
from tests import factories
from tests.concurrency import race

# A permit from Thursday 15 October 2026 (local, Helsinki): its first period starts in summer
# time (EEST, +3) and ends after the clocks went back on 25 October (EET, +2), so the period
# is a month plus an hour long and both of its ends are local midnight.
FIRST_DAY = date(2026, 10, 15)
STARTS = datetime(2026, 10, 14, 21, tzinfo=UTC)  # Thu 15 Oct 00:00 EEST
ENDS = datetime(2026, 11, 14, 22, tzinfo=UTC)  # Sun 15 Nov 00:00 EET
NEXT_ENDS = datetime(2026, 12, 14, 22, tzinfo=UTC)  # Tue 15 Dec 00:00 EET
RENEW_TIME = ENDS - timedelta(hours=2)  # inside the 24 h renewal lead
REMINDER_OPENS = ENDS - timedelta(days=7)  # Sun 8 Nov 00:00 EET


@pytest.fixture
def depot(db):
    return factories.FacilityFactory(
        name="Harbour Depot", address="Satamakatu 1, Helsinki", timezone="Europe/Helsinki"
    )


@pytest.fixture
def commuter(depot) -> PermitProduct:
    return factories.permit_product(
        depot,
        name="Commuter",
        hours=((factories.WORKDAYS, "06:00", "20:00"),),
        monthly_price="120.00",
        allocated_spaces=100,
    )


def _permit(product: PermitProduct, *, plates=("PRM-001",), holder=None, **extra) -> Permit:
    """A permit from FIRST_DAY, sold a month before it started (so well before any reminder
    window opened)."""
    permit = factories.permit(product, valid_from=FIRST_DAY, plates=plates, holder=holder, **extra)
    Permit.objects.filter(pk=permit.pk).update(created_at=permit.valid_from - timedelta(days=30))
    permit.refresh_from_db()
    return permit


def _fleet_permit(product: PermitProduct, *, staff) -> Permit:
    permit = permit_create(
        order=PermitOrder(
            product_id=product.pk,
            plates=["FLT-101", "FLT 102"],
            valid_from=FIRST_DAY,
            company_name="Nordic Couriers Oy",
            contact_email="fleet@couriers.test",
        ),
        actor=staff,
        actor_kind=ActorKind.STAFF,
    )
    Permit.objects.filter(pk=permit.pk).update(created_at=permit.valid_from - timedelta(days=30))
    permit.refresh_from_db()
    return permit


def _notices(permit: Permit, kind: str) -> list[datetime]:
    return list(
        Notification.objects.filter(permit=permit, kind=kind).values_list(
            "period_ends_at", flat=True
        )
    )


def _deliver(permit: Permit, kind: str) -> tuple[Outcome, Notification]:
    notification = Notification.objects.get(permit=permit, kind=kind)
    result = notifications.notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    return result.outcome, notification


# --- renewal ------------------------------------------------------------------------------


def test_the_first_period_ends_at_local_midnight_after_the_clocks_went_back(commuter):
    permit = _permit(commuter)

    assert (permit.valid_from, permit.valid_to) == (STARTS, ENDS)


def test_renewal_gives_one_new_period_however_often_it_runs(commuter):
    permit = _permit(commuter)

    too_early = permit_sweep_run("renew_permits", now=ENDS - timedelta(hours=25))
    first = permit_sweep_run("renew_permits", now=RENEW_TIME)
    again = permit_sweep_run("renew_permits", now=RENEW_TIME + timedelta(minutes=15))
    after_the_old_end = permit_sweep_run("renew_permits", now=ENDS + timedelta(minutes=1))

    assert [r.count for r in (too_early, first, again, after_the_old_end)] == [0, 1, 0, 0]
    permit.refresh_from_db()
    # The next month, from local midnight to local midnight, with no gap at the old end.
    assert (permit.valid_from, permit.valid_to) == (ENDS, NEXT_ENDS)
    assert permit.status == PermitStatus.ACTIVE
    assert permit.auto_renew is True
    assert permit_is_valid_at(permit, ENDS + timedelta(days=3))
    [event] = permit.events.filter(action=PermitAction.RENEW)
    assert (event.actor, event.actor_kind, event.at) == (None, ActorKind.SYSTEM, RENEW_TIME)
    assert event.data["old_period"] == {
        "valid_from": STARTS.isoformat(),
        "valid_to": ENDS.isoformat(),
    }
    assert event.data["new_period"] == {
        "valid_from": ENDS.isoformat(),
        "valid_to": NEXT_ENDS.isoformat(),
    }
    assert _notices(permit, NotificationKind.PERMIT_RENEWED) == [NEXT_ENDS]
    assert first.notified == 1


def test_renewal_charges_the_products_price_as_it_is_now(commuter):
    permit = _permit(commuter)
    assert (permit.price, permit.price_vat) == (Decimal("120.00"), Decimal("24.38"))
    PermitProduct.objects.filter(pk=commuter.pk).update(
        monthly_price=Decimal("150.00"), vat_percent=Decimal("24.00")
    )

    permit_sweep_run("renew_permits", now=RENEW_TIME)

    permit.refresh_from_db()
    assert (permit.price, permit.price_vat, permit.currency) == (
        Decimal("150.00"),
        Decimal("29.03"),
        "EUR",
    )
    event = permit.events.get(action=PermitAction.RENEW)
    assert event.data["old_price"] == {"price": "120.00", "currency": "EUR"}
    assert event.data["new_price"]["price"] == "150.00"
    assert event.data["new_price"]["vat"] == "29.03"


def test_a_permit_of_a_product_taken_off_sale_is_not_renewed_and_expires_at_its_end(
    commuter, mailoutbox
):
    permit = _permit(commuter)
    PermitProduct.objects.filter(pk=commuter.pk).update(on_sale=False)

    declined = permit_sweep_run("renew_permits", now=RENEW_TIME)
    again = permit_sweep_run("renew_permits", now=RENEW_TIME + timedelta(minutes=15))

    assert (declined.count, declined.notified, again.count) == (1, 1, 0)
    permit.refresh_from_db()
    assert (permit.valid_from, permit.valid_to) == (STARTS, ENDS)  # what was paid for
    assert permit.auto_renew is False
    assert permit.status == PermitStatus.ACTIVE
    assert "no longer on sale" in permit.status_reason
    event = permit.events.get(action=PermitAction.RENEW)
    assert event.data["renewed"] is False
    assert event.actor_kind == ActorKind.SYSTEM
    assert _notices(permit, NotificationKind.PERMIT_NOT_RENEWED) == [ENDS]
    assert not _notices(permit, NotificationKind.PERMIT_RENEWED)
    outcome, _ = _deliver(permit, NotificationKind.PERMIT_NOT_RENEWED)
    assert outcome == Outcome.SENT
    [mail] = mailoutbox
    assert mail.subject == f"Your permit for Harbour Depot will not be renewed ({permit})"
    assert "the product is no longer on sale" in mail.body
    assert "It stays valid until Sun 15 Nov 2026, 00:00 EET" in mail.body

    # Still valid to the end of the period; expired (silently) once it is over.
    assert permit_sweep_run("expire_permits", now=ENDS - timedelta(minutes=1)).count == 0
    expired = permit_sweep_run("expire_permits", now=ENDS)

    assert (expired.count, expired.notified) == (1, 0)
    permit.refresh_from_db()
    assert permit.status == PermitStatus.EXPIRED
    assert not permit_is_valid_at(permit, ENDS - timedelta(minutes=1))
    expiry = permit.events.get(action=PermitAction.EXPIRE)
    assert (expiry.from_status, expiry.to_status) == (PermitStatus.ACTIVE, PermitStatus.EXPIRED)
    assert permit.notifications.count() == 2  # issued, not renewed: nothing about the expiry


def test_a_cancelled_permit_is_never_renewed_and_expires_at_the_end_of_its_period(commuter):
    permit = _permit(commuter)
    suspended = _permit(commuter, plates=("SUS-1",))
    permit_cancel(permit=permit, actor=permit.holder, actor_kind=ActorKind.DRIVER)
    permit_suspend(permit=suspended, actor=permit.holder, reason="unpaid invoice")

    renewed = permit_sweep_run("renew_permits", now=RENEW_TIME)
    early = permit_sweep_run("expire_permits", now=ENDS - timedelta(seconds=1))
    at_the_end = permit_sweep_run("expire_permits", now=ENDS)
    later = permit_sweep_run("renew_permits", now=ENDS + timedelta(hours=1))

    assert [r.count for r in (renewed, early, at_the_end, later)] == [0, 0, 2, 0]
    for held in (permit, suspended):
        held.refresh_from_db()
        assert (held.status, held.valid_to) == (PermitStatus.EXPIRED, ENDS)
        assert not held.events.filter(action=PermitAction.RENEW).exists()
        assert held.events.get(action=PermitAction.EXPIRE).actor_kind == ActorKind.SYSTEM
    assert not Notification.objects.exclude(kind=NotificationKind.PERMIT_CREATED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_renewal_sweeps_renew_each_permit_exactly_once(commuter):
    permits = [_permit(commuter, plates=(f"CC-{i:03d}",)) for i in range(40)]
    ids = sorted(p.pk for p in permits)
    counts = [
        result.count
        for result in race(
            [lambda: permit_sweep_run("renew_permits", now=RENEW_TIME, batch_size=5)] * 2
        )
    ]
    assert sum(counts) == 40  # no permit was renewed by both
    assert set(Permit.objects.filter(pk__in=ids).values_list("valid_from", "valid_to")) == {
        (ENDS, NEXT_ENDS)
    }
    renewals = Counter(
        PermitEvent.objects.filter(permit_id__in=ids, action=PermitAction.RENEW).values_list(
            "permit_id", flat=True
        )
    )
    assert sorted(renewals) == ids
    assert set(renewals.values()) == {1}
    notices = Counter(
        Notification.objects.filter(
            permit_id__in=ids, kind=NotificationKind.PERMIT_RENEWED, period_ends_at=NEXT_ENDS
        ).values_list("permit_id", flat=True)
    )
    assert sorted(notices) == ids
    assert set(notices.values()) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_backlog_of_renewals_costs_eight_queries_per_batch(commuter, django_assert_num_queries):
    ids = [_permit(commuter, plates=(f"BL-{i:03d}",)).pk for i in range(30)]

    # Per batch of 10, one transaction: BEGIN, claim (SELECT … FOR UPDATE SKIP LOCKED), the
    # products, UPDATE, events, which webhook endpoints subscribe (none), outbox rows,
    # COMMIT; then one transaction whose claim is empty.
    with django_assert_num_queries(3 * 8 + 3):
        result = permit_sweep_run("renew_permits", now=RENEW_TIME, batch_size=10)

    assert (result.count, result.notified) == (30, 30)
    assert Permit.objects.filter(pk__in=ids, valid_to=NEXT_ENDS).count() == 30


# --- reminders ----------------------------------------------------------------------------


def test_one_reminder_per_period_from_a_week_before_local_midnight(commuter):
    renewing = _permit(commuter)
    cancelled = _permit(commuter, plates=("CAN-1",))
    suspended = _permit(commuter, plates=("SUS-1",))
    bought_late = _permit(commuter, plates=("LATE-1",))
    permit_cancel(permit=cancelled, actor=cancelled.holder, actor_kind=ActorKind.DRIVER)
    permit_suspend(permit=suspended, actor=suspended.holder, reason="unpaid invoice")
    # Bought when its period had less than a week to run: it needs no reminder.
    Permit.objects.filter(pk=bought_late.pk).update(created_at=REMINDER_OPENS + timedelta(hours=1))

    before = permit_sweep_run("permit_reminders", now=REMINDER_OPENS - timedelta(minutes=1))
    first = permit_sweep_run("permit_reminders", now=REMINDER_OPENS)
    again = permit_sweep_run("permit_reminders", now=REMINDER_OPENS + timedelta(hours=1))

    assert [r.count for r in (before, first, again)] == [0, 2, 0]
    assert _notices(renewing, NotificationKind.PERMIT_REMINDER) == [ENDS]
    assert _notices(cancelled, NotificationKind.PERMIT_REMINDER) == [ENDS]
    assert not _notices(suspended, NotificationKind.PERMIT_REMINDER)
    assert not _notices(bought_late, NotificationKind.PERMIT_REMINDER)

    # Both renewing permits are renewed, and reminded a week before the new period ends
    # (local midnight of 8 December: 22:00 UTC in winter), once; the late buyer too this time.
    assert permit_sweep_run("renew_permits", now=RENEW_TIME).count == 2
    next_window = NEXT_ENDS - timedelta(days=7)
    assert permit_sweep_run("permit_reminders", now=next_window - timedelta(minutes=1)).count == 0
    assert permit_sweep_run("permit_reminders", now=next_window).count == 2
    assert permit_sweep_run("permit_reminders", now=next_window).count == 0
    assert _notices(renewing, NotificationKind.PERMIT_REMINDER) == [ENDS, NEXT_ENDS]
    assert _notices(bought_late, NotificationKind.PERMIT_REMINDER) == [NEXT_ENDS]


# --- what holders receive -----------------------------------------------------------------


def test_reminder_says_renews_on_in_local_time_and_what_the_next_month_costs(commuter, mailoutbox):
    permit = _permit(commuter)
    permit_sweep_run("permit_reminders", now=REMINDER_OPENS)

    outcome, notification = _deliver(permit, NotificationKind.PERMIT_REMINDER)

    assert outcome == Outcome.SENT
    assert notification.status == NotificationStatus.SENT
    [mail] = mailoutbox
    assert mail.to == [permit.holder.email]
    assert mail.subject == (
        f"Your permit for Harbour Depot renews on 15 Nov 2026, 00:00 ({permit.reference})"
    )
    html = mail.alternatives[0][0]
    for body in (mail.body, html):
        assert "renews on Sun 15 Nov 2026, 00:00 EET" in body
        assert "today's price of 120.00 EUR (VAT 24.38 EUR included)" in body
        assert permit.reference in body
        assert "Commuter: Mon–Fri 06:00–20:00" in body
        assert "Harbour Depot, Satamakatu 1, Helsinki" in body
        assert "PRM-001" in body
        assert "Thu 15 Oct 2026, 00:00 EEST" in body  # the period started in summer time
        assert "120.00 EUR for the period, VAT included (VAT 24.38 EUR)" in body


def test_reminder_of_a_cancelled_fleet_permit_says_ends_on_and_goes_to_the_contact(
    commuter, mailoutbox
):
    staff = factories.UserFactory()
    permit = _fleet_permit(commuter, staff=staff)
    permit_cancel(permit=permit, actor=staff, actor_kind=ActorKind.STAFF)
    permit_sweep_run("permit_reminders", now=REMINDER_OPENS)

    outcome, _ = _deliver(permit, NotificationKind.PERMIT_REMINDER)

    assert outcome == Outcome.SENT
    [mail] = mailoutbox
    assert mail.to == ["fleet@couriers.test"]
    assert mail.subject == (
        f"Your permit for Harbour Depot ends on 15 Nov 2026, 00:00 ({permit.reference})"
    )
    assert "Your permit ends on Sun 15 Nov 2026, 00:00 EET and does not renew." in mail.body
    assert "Nordic Couriers Oy" in mail.body
    assert "FLT-101, FLT 102" in mail.body
    assert "renews" not in mail.body


def test_renewed_mail_shows_the_new_period_and_its_price(commuter, mailoutbox):
    permit = _permit(commuter)
    PermitProduct.objects.filter(pk=commuter.pk).update(monthly_price=Decimal("150.00"))
    permit_sweep_run("renew_permits", now=RENEW_TIME)

    outcome, _ = _deliver(permit, NotificationKind.PERMIT_RENEWED)

    assert outcome == Outcome.SENT
    [mail] = mailoutbox
    assert mail.to == [permit.holder.email]
    assert mail.subject == (
        f"Your permit for Harbour Depot is renewed until 15 Dec 2026, 00:00 ({permit.reference})"
    )
    for body in (mail.body, mail.alternatives[0][0]):
        assert "Sun 15 Nov 2026, 00:00 EET" in body  # from
        assert "Tue 15 Dec 2026, 00:00 EET" in body  # until
        assert "150.00 EUR, VAT included (VAT 30.48 EUR)" in body


def test_a_reminder_no_longer_true_is_given_up_not_sent(commuter, mailoutbox):
    suspended = _permit(commuter)
    renewed = _permit(commuter, plates=("REN-1",))
    permit_sweep_run("permit_reminders", now=REMINDER_OPENS)
    permit_suspend(permit=suspended, actor=suspended.holder, reason="unpaid invoice")
    permit_sweep_run("renew_permits", now=RENEW_TIME)

    gone = _deliver(suspended, NotificationKind.PERMIT_REMINDER)
    stale = _deliver(renewed, NotificationKind.PERMIT_REMINDER)

    assert mailoutbox == []
    assert [outcome for outcome, _ in (gone, stale)] == [Outcome.FAILED, Outcome.FAILED]
    assert gone[1].last_error == "not sent: the permit is suspended now"
    assert stale[1].last_error == "not sent: the permit has been renewed since"
    assert {gone[1].status, stale[1].status} == {NotificationStatus.FAILED}


def test_the_issue_notice_goes_to_the_holder_through_the_outbox_sweep(commuter, mailoutbox):
    permit = _permit(commuter)
    Notification.objects.filter(permit=permit).update(created_at=permit.created_at)

    result = notifications.notifications_deliver_pending(min_age=timedelta(0))

    assert result.sent == 1
    [mail] = mailoutbox
    assert mail.to == [permit.holder.email]
    assert mail.subject == f"Your permit for Harbour Depot is issued ({permit.reference})"
    assert "It renews automatically every month" in mail.body


@pytest.mark.parametrize("kind", PERMIT_NOTIFICATION_KINDS)
def test_every_permit_kind_has_a_text_and_an_html_body(commuter, kind):
    permit = _permit(commuter)
    notification = Notification(permit=permit, kind=kind, period_ends_at=permit.valid_to, pk=1)

    message = notifications.notification_render(notification)

    assert permit.reference in message.subject
    assert permit.reference in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert html.lstrip().startswith("<!doctype html>")
    assert "Harbour Depot" in html
    assert "{{" not in message.body + html


# --- ops ----------------------------------------------------------------------------------


def test_ops_can_see_and_run_the_permit_sweeps_now(commuter):
    due = _permit(commuter)
    PermitProduct.objects.filter(pk=commuter.pk).update(on_sale=False)
    # Due now (real time): the period ended an hour ago and the product is off sale.
    now = datetime.now(UTC)
    Permit.objects.filter(pk=due.pk).update(
        valid_from=now - timedelta(days=30), valid_to=now - timedelta(hours=1)
    )
    out = StringIO()

    call_command("expire_bookings", "--dry-run", "--sweep", "renew_permits", stdout=out)

    assert out.getvalue().strip() == (
        f"would renew 1 permit(s) (or mark them not renewed, when off sale): {due.reference}"
    )
    due.refresh_from_db()
    assert due.auto_renew is True

    out = StringIO()
    call_command(
        "expire_bookings", "--sweep", "renew_permits", "--sweep", "expire_permits", stdout=out
    )

    assert "did renew 1 permit(s)" in out.getvalue()
    assert "did expire 1 permit(s)" in out.getvalue()
    due.refresh_from_db()
    assert (due.status, due.auto_renew) == (PermitStatus.EXPIRED, False)
