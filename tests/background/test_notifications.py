"""Notifications as the driver receives them, and the outbox's promise that a booking never
fails because mail or the broker does."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bookings import notifications
from bookings.models import (
    PERMIT_NOTIFICATION_KINDS,
    Booking,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from bookings.notifications import Outcome
from bookings.outbox import outbox_add
from bookings.states import BookingStatus
from config.celery import app as celery_app
from tests.background.conftest import book_through_the_engine, purge_test_queues


def _pending(booking: Booking, kind: str, *, age: timedelta = timedelta(0)) -> Notification:
    outbox_add(booking=booking, kind=kind)
    notification = Notification.objects.get(booking=booking, kind=kind)
    if age:
        Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - age)
    return notification


def test_confirmation_shows_local_times_on_a_daylight_saving_day(book, mailoutbox):
    # Helsinki moves from EET (+2) to EEST (+3) at 01:00 UTC on 30 March 2025.
    booking = book(
        starts_at=datetime(2025, 3, 30, 0, 30, tzinfo=UTC),
        ends_at=datetime(2025, 3, 30, 2, 30, tzinfo=UTC),
    )
    notification = _pending(booking, NotificationKind.CONFIRMED)

    result = notifications.notification_deliver(notification_id=notification.pk)

    assert result.outcome == Outcome.SENT
    [mail] = mailoutbox
    assert mail.to == [booking.driver.email]
    assert booking.reference in mail.subject
    html = mail.alternatives[0][0]
    for body in (mail.body, html):
        assert "Sun 30 Mar 2025, 02:30 EET" in body
        assert "Sun 30 Mar 2025, 05:30 EEST" in body
        assert booking.access_code in body
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert notification.sent_at is not None


def test_a_sent_notification_is_never_sent_again(book, mailoutbox):
    notification = _pending(book(), NotificationKind.CONFIRMED)

    first = notifications.notification_deliver(notification_id=notification.pk)
    second = notifications.notification_deliver(notification_id=notification.pk)
    swept = notifications.notifications_deliver_pending(min_age=timedelta(0))

    assert (first.outcome, second.outcome, swept.sent) == (Outcome.SENT, Outcome.SKIPPED, 0)
    assert len(mailoutbox) == 1


def test_one_notification_per_booking_and_kind_ever(book):
    booking = book()
    for _ in range(3):
        outbox_add(booking=booking, kind=NotificationKind.CONFIRMED)
    assert booking.notifications.count() == 1


# Permit kinds are about a permit: tests/permits/test_permit_sweeps.py renders those.
@pytest.mark.parametrize(
    "kind", [k for k in NotificationKind.values if k not in PERMIT_NOTIFICATION_KINDS]
)
def test_every_booking_kind_has_a_text_and_an_html_body(book, kind):
    booking = book(status=BookingStatus.ACTIVE)
    notification = Notification(booking=booking, kind=kind, pk=1)

    message = notifications.notification_render(notification)

    assert booking.reference in message.subject
    assert booking.reference in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert html.lstrip().startswith("<!doctype html>")
    assert booking.facility.name in html


def test_a_reminder_for_a_cancelled_booking_is_not_sent(book, mailoutbox):
    booking = book(starts_at=timezone.now() + timedelta(minutes=20))
    notification = _pending(booking, NotificationKind.REMINDER_START)
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)

    result = notifications.notification_deliver(notification_id=notification.pk)

    assert result.outcome == Outcome.FAILED
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error == "not sent: the booking is cancelled now"


def test_outbox_sweep_leaves_fresh_rows_to_their_own_task(book, mailoutbox):
    fresh = _pending(book(), NotificationKind.CONFIRMED)
    stale = _pending(book(), NotificationKind.CONFIRMED, age=timedelta(minutes=2))

    result = notifications.notifications_deliver_pending()

    assert result.sent == 1
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert (fresh.status, stale.status) == (NotificationStatus.PENDING, NotificationStatus.SENT)
    assert len(mailoutbox) == 1


def test_outbox_sweep_stops_early_while_the_mail_server_refuses(book, settings, refusing_smtp):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", refusing_smtp["port"]
    rows = [
        _pending(book(), NotificationKind.CONFIRMED, age=timedelta(minutes=2)) for _ in range(6)
    ]

    result = notifications.notifications_deliver_pending()

    assert (result.sent, result.retry_later) == (0, 3)
    attempts = sorted(
        Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("attempts", flat=True)
    )
    assert attempts == [0, 0, 0, 1, 1, 1]  # the other rows keep their attempts for later
    assert Notification.objects.filter(status=NotificationStatus.PENDING).count() == 6
    assert "SMTPConnectError" in Notification.objects.get(pk=rows[0].pk).last_error


def test_retry_waits_grow_exponentially_with_jitter(settings):
    settings.PARKME_BACKGROUND = {
        **settings.PARKME_BACKGROUND,
        "NOTIFICATION_RETRY_BACKOFF_SECONDS": 60,
        "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS": 900,
    }
    for attempts, full in [(1, 60), (2, 120), (3, 240), (4, 480), (5, 900), (9, 900)]:
        waits = {notifications.retry_countdown(attempts) for _ in range(20)}
        assert all(full / 2 <= wait <= full for wait in waits)
        assert len(waits) > 1  # jitter: a burst of failures does not retry in lockstep


# --- the outbox and the broker ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_booking_hands_its_notification_to_the_broker(garage):
    purge_test_queues()

    booking = book_through_the_engine(garage)

    notification = booking.notifications.get()
    with celery_app.connection_for_write() as conn:
        queue = conn.SimpleQueue("notifications")
        try:
            message = queue.get(timeout=5)
            message.ack()
        finally:
            queue.close()
    assert message.headers["task"] == "bookings.deliver_notification"
    args, _kwargs, _embed = message.payload
    assert args == [notification.pk]


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Point the app's producer at a localhost port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    saved = (celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool)
    celery_app._pool = celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = f"redis://127.0.0.1:{dead_port}/0"
    yield
    celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool = saved


@pytest.mark.django_db(transaction=True)
def test_a_booking_succeeds_while_the_broker_is_down(garage, broker_down, caplog):
    with caplog.at_level(logging.WARNING, logger="bookings.outbox"):
        booking = book_through_the_engine(garage)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    notification = booking.notifications.get()
    assert notification.status == NotificationStatus.PENDING  # the outbox sweep's job now
    assert f"could not enqueue notification {notification.pk}" in caplog.text
