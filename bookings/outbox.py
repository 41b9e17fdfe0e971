"""The notification outbox: rows written in the same transaction as the state change.

Delivery is enqueued only after that transaction commits. If the broker is unreachable the
booking still succeeds: the row stays pending and the outbox sweep
(``bookings.deliver_pending_notifications``, every minute) delivers it.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import connection, transaction

from bookings.models import Booking, Notification, NotificationStatus, Permit

logger = logging.getLogger(__name__)

# bulk_create(ignore_conflicts=True) cannot say which row it inserted, and only a newly
# inserted row needs a delivery task: RETURNING answers both in the one statement.
_INSERT = f"""
    INSERT INTO {Notification._meta.db_table}
        (booking_id, kind, status, attempts, last_error, created_at)
    VALUES (%s, %s, %s, 0, '', now())
    ON CONFLICT (booking_id, kind) DO NOTHING
    RETURNING id
"""  # noqa: S608 - the table name is ours, every value is a parameter


def outbox_add(*, booking: Booking, kind: str) -> None:
    """Queue one notification of this kind for this booking; a second call is a no-op
    (unique per booking and kind, enforced by PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [booking.pk, kind, NotificationStatus.PENDING])
        row = cursor.fetchone()
    if row is not None:
        notification_id = row[0]
        transaction.on_commit(lambda: outbox_enqueue_delivery(notification_id))


_INSERT_PERMIT = f"""
    INSERT INTO {Notification._meta.db_table}
        (permit_id, period_ends_at, kind, status, attempts, last_error, created_at)
    VALUES (%s, %s, %s, %s, 0, '', now())
    ON CONFLICT (permit_id, kind, period_ends_at) DO NOTHING
    RETURNING id
"""  # noqa: S608 - the table name is ours, every value is a parameter


def outbox_add_permit(*, permit: Permit, kind: str) -> None:
    """Queue one notification of this kind about the permit's current period; a second
    call for the same period is a no-op (unique per permit, kind and period end)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_PERMIT, [permit.pk, permit.valid_to, kind, NotificationStatus.PENDING]
        )
        row = cursor.fetchone()
    if row is not None:
        notification_id = row[0]
        transaction.on_commit(lambda: outbox_enqueue_delivery(notification_id))


# Tasks are sent by name: the tasks module calls into the sweeps that write outbox rows, so
# importing it here would close a circle.
DELIVER_TASK = "bookings.deliver_notification"
SWEEP_TASK = "bookings.deliver_pending_notifications"


def outbox_enqueue_delivery(notification_id: int) -> None:
    """Hand one notification to a worker; never raises (the sweep is the safety net)."""
    try:
        current_app.send_task(DELIVER_TASK, args=[notification_id], ignore_result=True)
    except Exception:  # noqa: BLE001 - any broker failure: the outbox sweep delivers it later
        logger.warning(
            "could not enqueue notification %s; the outbox sweep will deliver it",
            notification_id,
            exc_info=True,
        )


def outbox_kick() -> None:
    """Ask for an outbox sweep now (after a sweep queued notifications), instead of at the
    next minute; never raises."""
    try:
        current_app.send_task(SWEEP_TASK, kwargs={"min_age_seconds": 0})
    except Exception:  # noqa: BLE001 - the scheduled sweep runs within a minute anyway
        logger.warning("could not enqueue an outbox sweep", exc_info=True)
