"""Every task family through a real `celery worker` process on the real Redis broker, ending
in the database state users see; plus the two failures that matter most for e-mail: a
worker killed mid-batch, and a mail server that keeps refusing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import tasks
from bookings.models import (
    Booking,
    BookingEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from bookings.permits import permit_next_period
from bookings.states import ActorKind, BookingStatus, PermitAction
from facilities.models import OccupancyRollup
from tests import factories
from tests.background.conftest import book_through_the_engine, minutes, wait_for
from tests.background.mailbox import read_log

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TIMEOUT = 60


def _sent_ids(worker) -> list[int]:
    return [int(r["notification"]) for r in read_log(worker.mail_log) if r["event"] == "sent"]


def test_expiry_overstay_and_reminder_sweeps_run_on_a_worker(book, start_worker):
    now = timezone.now()
    hold = book(status=BookingStatus.HELD, hold_expires_at=now - minutes(1))
    no_show = book(starts_at=now - minutes(30), ends_at=now + minutes(60))
    overstay = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(120), ends_at=now - minutes(20)
    )
    starting = book(starts_at=now + minutes(20), ends_at=now + minutes(80))
    ending = book(
        status=BookingStatus.ACTIVE, starts_at=now - minutes(50), ends_at=now + minutes(5)
    )
    Booking.objects.update(created_at=now - timedelta(days=1))
    worker = start_worker()

    results = [
        t.delay().get(timeout=TIMEOUT)
        for t in (
            tasks.expire_holds,
            tasks.expire_no_shows,
            tasks.flag_overstays,
            tasks.send_start_reminders,
            tasks.send_ending_soon_reminders,
        )
    ]

    assert results == [1, 1, 1, 1, 1]
    hold.refresh_from_db()
    no_show.refresh_from_db()
    assert (hold.status, no_show.status) == (BookingStatus.EXPIRED, BookingStatus.EXPIRED)
    assert no_show.events.get().actor_kind == "system"
    expected = {
        (no_show.pk, NotificationKind.EXPIRED),
        (overstay.pk, NotificationKind.OVERSTAY),
        (starting.pk, NotificationKind.REMINDER_START),
        (ending.pk, NotificationKind.ENDING_SOON),
    }
    assert set(Notification.objects.values_list("booking_id", "kind")) == expected
    # Each sweep asked for an outbox run, so the drivers get their mail without waiting a minute.
    wait_for(
        lambda: Notification.objects.filter(status=NotificationStatus.SENT).count() == 4,
        timeout=TIMEOUT,
        what="the sweeps' notifications to be sent",
    )
    assert sorted(_sent_ids(worker)) == sorted(Notification.objects.values_list("pk", flat=True))


def test_notification_delivery_and_outbox_sweep_run_on_a_worker(garage, book, start_worker):
    worker = start_worker()

    booking = book_through_the_engine(garage)  # enqueues its delivery on commit
    forgotten = book()
    Notification.objects.create(booking=forgotten, kind=NotificationKind.CONFIRMED)
    Notification.objects.filter(booking=forgotten).update(created_at=timezone.now() - minutes(2))

    swept = tasks.deliver_pending_notifications.delay().get(timeout=TIMEOUT)
    wait_for(
        lambda: not Notification.objects.filter(status=NotificationStatus.PENDING).exists(),
        timeout=TIMEOUT,
        what="every notification to be sent",
    )

    assert swept["sent"] == 1  # the forgotten one; the fresh one was its own task's
    confirmed = booking.notifications.get()
    assert _sent_ids(worker).count(confirmed.pk) == 1
    assert _sent_ids(worker).count(forgotten.notifications.get().pk) == 1


def test_roll_up_and_anonymisation_run_on_a_worker(garage, book, start_worker):
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    book(status=BookingStatus.COMPLETED, starts_at=hour, ends_at=hour + minutes(45))
    old = book(
        status=BookingStatus.EXPIRED,
        starts_at=now - timedelta(days=500, hours=1),
        ends_at=now - timedelta(days=500),
    )
    start_worker()

    facilities = tasks.roll_up_occupancy.delay().get(timeout=TIMEOUT)
    anonymised = tasks.anonymize_old_bookings.delay().get(timeout=TIMEOUT)

    assert facilities == 1
    row = OccupancyRollup.objects.get(facility=garage, hour=hour)
    assert (row.spots_total, row.spots_used, row.occupied_minutes) == (2, 1, 45)
    assert anonymised == 1
    old.refresh_from_db()
    assert (old.driver, old.vehicle) == (None, None)
    assert old.anonymized_at is not None
    assert old.price == Decimal("6.00")


def test_permit_renewal_runs_on_a_worker_once_and_the_holder_is_told(garage, start_worker):
    worker = start_worker()
    product = factories.permit_product(garage, name="Commuter", monthly_price="99.00")
    # A permit whose month ends at local midnight tonight (staff may backdate a start), so
    # it is inside the 24-hour renewal lead now.
    tomorrow = (timezone.now().astimezone(garage.tz) + timedelta(days=1)).date()
    month_before = tomorrow.replace(day=1) - timedelta(days=1)
    first_day = month_before.replace(day=min(tomorrow.day, month_before.day))
    permit = factories.permit(product, valid_from=first_day)  # its issue mail is enqueued
    assert permit.valid_to <= timezone.now() + timedelta(hours=24)
    next_period = permit_next_period(permit)

    renewed = tasks.renew_permits.delay().get(timeout=TIMEOUT)
    again = tasks.renew_permits.delay().get(timeout=TIMEOUT)

    assert (renewed, again) == (1, 0)
    permit.refresh_from_db()
    assert (permit.valid_from, permit.valid_to) == next_period
    event = permit.events.get(action=PermitAction.RENEW)
    assert event.actor_kind == ActorKind.SYSTEM
    # The renewal asked for an outbox run: the holder's mail goes out without waiting a minute.
    wait_for(
        lambda: not Notification.objects.filter(status=NotificationStatus.PENDING).exists(),
        timeout=TIMEOUT,
        what="the permit's notifications to be sent",
    )
    notice = permit.notifications.get(kind=NotificationKind.PERMIT_RENEWED)
    assert (notice.status, notice.period_ends_at) == (NotificationStatus.SENT, permit.valid_to)
    sent = [
        r
        for r in read_log(worker.mail_log)
        if r["event"] == "sent" and int(r["notification"]) == notice.pk
    ]
    assert len(sent) == 1
    assert sent[0]["to"] == [permit.holder.email]
    assert sent[0]["subject"].startswith(f"Your permit for {garage.name} is renewed until")


def test_worker_killed_mid_batch_loses_and_doubles_nothing(book, start_worker):
    rows = []
    for _ in range(10):
        booking = book()
        rows.append(Notification.objects.create(booking=booking, kind=NotificationKind.CONFIRMED))
    Notification.objects.update(created_at=timezone.now() - minutes(5))
    ids = sorted(n.pk for n in rows)
    # Each send takes a second, so the kill lands while a message is being handed over.
    first = start_worker(env={"PARKME_TEST_MAIL_DELAY": "1"})

    tasks.deliver_pending_notifications.delay()
    wait_for(
        lambda: sum(r["event"] == "start" for r in read_log(first.mail_log)) >= 4,
        timeout=TIMEOUT,
        what="the fourth message of the batch to be in flight",
    )
    first.kill()

    delivered_before_kill = set(_sent_ids(first))
    assert len(delivered_before_kill) == 3
    assert (
        set(
            Notification.objects.filter(status=NotificationStatus.SENT).values_list("pk", flat=True)
        )
        == delivered_before_kill
    )  # the in-flight one rolled back to pending

    second = start_worker()

    def all_sent() -> bool:
        # What beat does every minute: run the outbox sweep until nothing is pending. (The
        # killed worker's own message comes back only after the broker's visibility timeout.)
        tasks.deliver_pending_notifications.delay().get(timeout=TIMEOUT)
        return not Notification.objects.filter(status=NotificationStatus.PENDING).exists()

    wait_for(all_sent, timeout=TIMEOUT, what="every pending notification to be delivered")

    log = read_log(second.mail_log)  # both workers write to the same log
    sent = Counter(_sent_ids(second))
    assert sorted(sent) == ids
    assert set(sent.values()) == {1}  # none twice
    # The message in flight at the kill was started twice and delivered once.
    in_flight = int([r for r in log if r["event"] == "start"][3]["notification"])
    assert in_flight not in delivered_before_kill
    starts = Counter(int(r["notification"]) for r in log if r["event"] == "start")
    assert starts[in_flight] == 2
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 10


def test_refusing_mail_server_means_retries_then_failed_and_the_booking_is_untouched(
    garage, start_worker, refusing_smtp
):
    start_worker(
        env={
            "PARKME_WORKER_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(refusing_smtp["port"]),
            "NOTIFICATION_MAX_ATTEMPTS": "3",
            "NOTIFICATION_RETRY_BACKOFF_SECONDS": "1",
            "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS": "2",
        }
    )

    booking = book_through_the_engine(garage)  # the confirmation is enqueued on commit
    notification = booking.notifications.get()
    wait_for(
        lambda: Notification.objects.get(pk=notification.pk).status != NotificationStatus.PENDING,
        timeout=TIMEOUT,
        what="the notification to run out of attempts",
    )

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == 3
    assert notification.sent_at is None
    assert "SMTPConnectError" in notification.last_error
    assert "Service not available" in notification.last_error
    assert refusing_smtp["connections"] == 3  # one connection per attempt: it did retry
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert list(
        BookingEvent.objects.filter(booking=booking).values_list("to_status", flat=True)
    ) == [BookingStatus.CONFIRMED]


def test_expired_refresh_tokens_are_flushed_on_a_worker(garage, start_worker):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from parkme.tasks import flush_expired_tokens

    driver = factories.UserFactory()
    spent, live = RefreshToken.for_user(driver), RefreshToken.for_user(driver)
    spent.blacklist()
    OutstandingToken.objects.filter(jti=spent["jti"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    start_worker()

    flushed = flush_expired_tokens.delay().get(timeout=TIMEOUT)

    assert flushed >= 1
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
