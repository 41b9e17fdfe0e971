"""Rendering and delivering outbox notifications as e-mail.

Mail goes through Django's e-mail backend (EMAIL_BACKEND: console in dev, SMTP in
production). Times are shown in the facility's time zone. A row is about a booking (to its
driver) or about one period of a permit (to ``Permit.recipient``: the fleet contact, else the
holder).

Delivery locks the notification row (``FOR UPDATE SKIP LOCKED``) for the length of one send
and marks it sent in the same transaction, so two workers never send one row at the same
time and a sent row is never sent again. It is at-least-once, not exactly-once: if a worker
dies after the mail server accepted a message but before the commit, that one message is
sent again. SMTP offers no idempotency key that would close that window.
"""

from __future__ import annotations

import enum
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from bookings.models import (
    Notification,
    NotificationKind,
    NotificationStatus,
    Permit,
)
from bookings.permit_hours import hours_of, hours_text
from bookings.permits import product_price
from bookings.states import PERMIT_HELD_STATUSES, BookingStatus, PermitStatus

logger = logging.getLogger(__name__)

SUBJECTS = {
    NotificationKind.CONFIRMED: "Your parking at {facility} is confirmed ({reference})",
    NotificationKind.REMINDER_START: "Your parking at {facility} starts soon ({reference})",
    NotificationKind.ENDING_SOON: "Your parking at {facility} ends soon ({reference})",
    NotificationKind.EXPIRED: "Your booking at {facility} has expired ({reference})",
    NotificationKind.OVERSTAY: "You are past the end of your booking at {facility} ({reference})",
    NotificationKind.AUTO_CHECKED_OUT: "Your booking at {facility} was closed automatically "
    "({reference})",
    NotificationKind.CANCELLED: "Your booking at {facility} is cancelled ({reference})",
}

# A reminder or warning is only worth sending while it is still true.
STILL_RELEVANT = {
    NotificationKind.REMINDER_START: {BookingStatus.CONFIRMED},
    NotificationKind.ENDING_SOON: {BookingStatus.ACTIVE},
    NotificationKind.OVERSTAY: {BookingStatus.ACTIVE},
}

PERMIT_SUBJECTS = {
    NotificationKind.PERMIT_CREATED: "Your permit for {facility} is issued ({reference})",
    NotificationKind.PERMIT_REMINDER: "Your permit for {facility} {renews_or_ends} on {when} "
    "({reference})",
    NotificationKind.PERMIT_RENEWED: "Your permit for {facility} is renewed until {when} "
    "({reference})",
    NotificationKind.PERMIT_NOT_RENEWED: "Your permit for {facility} will not be renewed "
    "({reference})",
}

# The permit statuses in which news about it is still worth sending. Once it has expired,
# news of a renewal (or of none) is stale; a reminder is only for a permit that still lets
# its plates in at the end of the period (not a suspended one) and only for its current
# period (a permit renewed since is announced by the "renewed" notice).
PERMIT_STILL_RELEVANT = {
    NotificationKind.PERMIT_CREATED: set(PERMIT_HELD_STATUSES),
    NotificationKind.PERMIT_REMINDER: {PermitStatus.ACTIVE, PermitStatus.CANCELLED},
    NotificationKind.PERMIT_RENEWED: set(PERMIT_HELD_STATUSES),
    NotificationKind.PERMIT_NOT_RENEWED: set(PERMIT_HELD_STATUSES),
}


def background() -> dict:
    return settings.PARKME_BACKGROUND


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # failed this time, still pending: try again later
    FAILED = "failed"  # gave up: out of attempts, no recipient, or no longer relevant
    SKIPPED = "skipped"  # gone, already done, or another worker holds it right now


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    attempts: int = 0
    send_error: bool = False


def notification_render(notification: Notification) -> EmailMultiAlternatives:
    if notification.permit_id is not None:
        return _permit_render(notification)
    booking = notification.booking
    facility = booking.facility
    context = {
        "booking": booking,
        "facility": facility,
        "kind": notification.kind,
        "spot": booking.spot.code,
        "timezone_name": facility.timezone,
    }
    # The date filter shows aware datetimes in the active time zone: make it the facility's.
    with timezone.override(facility.tz):
        text = render_to_string(f"notifications/{notification.kind}.txt", context)
        html = render_to_string(f"notifications/{notification.kind}.html", context)
    subject = SUBJECTS[notification.kind].format(facility=facility.name, reference=booking)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[booking.driver.email],
        headers={"X-ParkMe-Notification": str(notification.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message


def _permit_renews(permit: Permit) -> bool:
    """Whether the permit will renew at its period end, as things stand: what the renewal
    sweep will do (bookings.permit_sweeps), so a reminder does not promise a renewal of a
    product that has gone off sale."""
    product = permit.product
    return (
        permit.status == PermitStatus.ACTIVE
        and permit.auto_renew
        and product.on_sale
        and product.facility.is_active
    )


def _permit_render(notification: Notification) -> EmailMultiAlternatives:
    permit = notification.permit
    product = permit.product
    facility = product.facility
    tz = facility.tz
    period_end = notification.period_ends_at or permit.valid_to
    renews = _permit_renews(permit)
    context = {
        "permit": permit,
        "product": product,
        "facility": facility,
        "kind": notification.kind,
        "hours": hours_text(hours_of(product.hours.all())),
        "plates": ", ".join(permit.plates),
        "holder_name": permit.company_name,
        "period_end": period_end,
        "renews": renews,
        # What the next period would cost if it renewed at today's price.
        "next_price": product_price(product) if renews else None,
        "reason": permit.status_reason.removeprefix("not renewed: "),
        "timezone_name": facility.timezone,
    }
    with timezone.override(tz):
        text = render_to_string(f"notifications/{notification.kind}.txt", context)
        html = render_to_string(f"notifications/{notification.kind}.html", context)
    subject = PERMIT_SUBJECTS[notification.kind].format(
        facility=facility.name,
        reference=permit.reference,
        renews_or_ends="renews" if renews else "ends",
        when=f"{period_end.astimezone(tz):%-d %b %Y, %H:%M}",
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[permit.recipient],
        headers={"X-ParkMe-Notification": str(notification.pk)},
    )
    message.attach_alternative(html, "text/html")
    return message


def _locked(pending: QuerySet[Notification]) -> QuerySet[Notification]:
    # Either path may be empty (a row is about a booking or a permit): LEFT JOINs, and only
    # the notification row is locked.
    return pending.select_for_update(skip_locked=True, of=("self",)).select_related(
        "booking__facility",
        "booking__driver",
        "booking__spot",
        "permit__product__facility",
        "permit__holder",
    )


def _give_up(notification: Notification, why: str) -> DeliveryResult:
    notification.status = NotificationStatus.FAILED
    notification.last_error = why
    notification.save(update_fields=["status", "attempts", "last_error"])
    return DeliveryResult(Outcome.FAILED, notification.attempts)


def _why_not_send(notification: Notification) -> str | None:
    """Why a pending row must not be sent (no one to send to, or no longer true), or None."""
    permit = notification.permit
    if permit is not None:
        if not permit.recipient:
            return "not sent: the permit has no holder or contact e-mail"
        if permit.status not in PERMIT_STILL_RELEVANT[notification.kind]:
            return f"not sent: the permit is {permit.status} now"
        if (
            notification.kind == NotificationKind.PERMIT_REMINDER
            and notification.period_ends_at != permit.valid_to
        ):
            return "not sent: the permit has been renewed since"
        return None
    booking = notification.booking
    if booking.driver is None:
        return "not sent: the booking has no driver any more"
    relevant = STILL_RELEVANT.get(notification.kind)
    if relevant is not None and booking.status not in relevant:
        return f"not sent: the booking is {booking.status} now"
    return None


def _deliver_locked(notification: Notification, connection=None) -> DeliveryResult:
    """Send one locked, pending notification and record the result on its row."""
    notification.attempts += 1
    if why := _why_not_send(notification):
        return _give_up(notification, why)
    try:
        message = notification_render(notification)
        message.connection = connection
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - SMTP, network or template: record it, retry
        if connection is not None:
            connection.close()  # a half-broken SMTP session must not poison the next send
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if notification.attempts >= background()["NOTIFICATION_MAX_ATTEMPTS"]:
            notification.status = NotificationStatus.FAILED
            logger.error(
                "notification %s (%s) failed after %d attempts: %s",
                notification.pk,
                notification.kind,
                notification.attempts,
                notification.last_error,
            )
        else:
            logger.warning(
                "notification %s (%s) attempt %d failed: %s",
                notification.pk,
                notification.kind,
                notification.attempts,
                notification.last_error,
            )
        notification.save(update_fields=["status", "attempts", "last_error"])
        outcome = (
            Outcome.FAILED if notification.status == NotificationStatus.FAILED else Outcome.RETRY
        )
        return DeliveryResult(outcome, notification.attempts, send_error=True)
    notification.status = NotificationStatus.SENT
    notification.sent_at = timezone.now()
    notification.last_error = ""
    notification.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    if notification.permit is not None:
        logger.info(
            "notification %s (%s) sent for permit %s",
            notification.pk,
            notification.kind,
            notification.permit,
        )
    else:
        logger.info(
            "notification %s (%s) sent for booking %s",
            notification.pk,
            notification.kind,
            notification.booking,
        )
    return DeliveryResult(Outcome.SENT, notification.attempts)


def notification_deliver(*, notification_id: int) -> DeliveryResult:
    """Deliver one notification if it is still pending and no one else is delivering it."""
    with transaction.atomic():
        notification = _locked(
            Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING)
        ).first()
        if notification is None:
            return DeliveryResult(Outcome.SKIPPED)
        return _deliver_locked(notification)


def retry_countdown(attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1) capped, then a random point in its upper
    half, so a burst of failures does not come back as one burst."""
    base = background()["NOTIFICATION_RETRY_BACKOFF_SECONDS"]
    cap = background()["NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS"]
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


def pending_due(now: datetime, *, min_age: timedelta | None = None) -> QuerySet[Notification]:
    """Pending rows the sweep should deliver: fresh ones whose enqueue-on-commit never ran
    (older than ``min_age``), and ones still pending long after their whole retry schedule
    should have finished (their retry message was lost with a broker)."""
    if min_age is None:
        min_age = timedelta(seconds=background()["NOTIFICATION_PENDING_AFTER_SECONDS"])
    retry_window = timedelta(
        seconds=background()["NOTIFICATION_MAX_ATTEMPTS"]
        * background()["NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS"]
    )
    return Notification.objects.filter(status=NotificationStatus.PENDING).filter(
        Q(attempts=0, created_at__lte=now - min_age)
        | Q(attempts__gt=0, created_at__lte=now - min_age - retry_window)
    )


@dataclass(frozen=True)
class PendingSweepResult:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0


def notifications_deliver_pending(
    *,
    now: datetime | None = None,
    limit: int = 200,
    min_age: timedelta | None = None,
    stop_after_failures: int = 3,
) -> PendingSweepResult:
    """The outbox sweep: deliver due pending rows, one row per transaction so a crash loses
    at most the message in flight, over one SMTP connection. Stops early after a few
    consecutive failures (the mail server is down: no point spending every row's attempts)."""
    now = now or timezone.now()
    due = pending_due(now, min_age=min_age).order_by("created_at", "id")
    counts = {Outcome.SENT: 0, Outcome.FAILED: 0, Outcome.RETRY: 0}
    tried: list[int] = []
    failures_in_a_row = 0
    connection = get_connection()
    try:
        for _ in range(limit):
            with transaction.atomic():
                notification = _locked(due.exclude(pk__in=tried)).first()
                if notification is None:
                    break
                tried.append(notification.pk)
                result = _deliver_locked(notification, connection)
            counts[result.outcome] += 1
            failures_in_a_row = failures_in_a_row + 1 if result.send_error else 0
            if failures_in_a_row >= stop_after_failures:
                break
    finally:
        connection.close()
    return PendingSweepResult(
        sent=counts[Outcome.SENT],
        failed=counts[Outcome.FAILED],
        retry_later=counts[Outcome.RETRY],
    )
