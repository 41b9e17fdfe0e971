"""Celery tasks: thin wrappers that take ids or batch limits and call one service.

Every task here may run twice or concurrently (acks_late hands a task back when a worker
dies; beat may fire while the last run is still going): the services claim rows with
SELECT … FOR UPDATE SKIP LOCKED and re-check state under the lock, so a second run finds
nothing left to do. Queues: see CELERY_TASK_ROUTES.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from bookings import notifications, sweeps
from bookings.notifications import Outcome


def _when(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


@shared_task(name="bookings.expire_holds")
def expire_holds(batch_size: int | None = None, max_batches: int | None = None) -> int:
    """held → expired for timed-out holds. Exactly-once per booking: the status change, its
    event and the freed spot commit together, and a claimed row is no longer held."""
    return sweeps.sweep_expire_holds(batch_size=batch_size, max_batches=max_batches).count


@shared_task(name="bookings.expire_no_shows")
def expire_no_shows(batch_size: int | None = None, max_batches: int | None = None) -> int:
    """confirmed → expired past starts_at + grace. Exactly-once per booking (as above); the
    "expired" notification row is written in the same transaction."""
    return sweeps.sweep_expire_no_shows(batch_size=batch_size, max_batches=max_batches).count


@shared_task(name="bookings.flag_overstays")
def flag_overstays(batch_size: int | None = None, max_batches: int | None = None) -> int:
    """One "overstay" notification row per overstaying booking: at-most-once per booking,
    because the unique (booking, kind) constraint turns every later insert into a no-op."""
    return sweeps.sweep_flag_overstays(batch_size=batch_size, max_batches=max_batches).count


@shared_task(name="bookings.send_start_reminders")
def send_start_reminders(batch_size: int | None = None, max_batches: int | None = None) -> int:
    """Queue the "starts soon" reminder: at-most-once per booking (unique booking+kind)."""
    return sweeps.sweep_start_reminders(batch_size=batch_size, max_batches=max_batches).count


@shared_task(name="bookings.send_ending_soon_reminders")
def send_ending_soon_reminders(
    batch_size: int | None = None, max_batches: int | None = None
) -> int:
    """Queue the "ends soon" reminder: at-most-once per booking (unique booking+kind)."""
    return sweeps.sweep_ending_soon(batch_size=batch_size, max_batches=max_batches).count


# ignore_result: the outcome lives on the Notification row, and a stored result would make
# every enqueue on the booking path also subscribe to its result channel in Redis.
@shared_task(name="bookings.deliver_notification", bind=True, max_retries=None, ignore_result=True)
def deliver_notification(self, notification_id: int) -> str:
    """Send one notification. At-least-once: the row is locked while it is sent and marked
    sent in the same transaction, so it is never sent twice by live workers, but a worker
    killed between the mail server's 250 and the commit re-sends that one message.
    A failed send is retried with exponential backoff and jitter until
    NOTIFICATION_MAX_ATTEMPTS, after which the row is failed with the last error.
    Returns quietly if the row is gone, done, or being sent by another worker."""
    result = notifications.notification_deliver(notification_id=notification_id)
    if result.outcome == Outcome.RETRY:
        raise self.retry(countdown=notifications.retry_countdown(result.attempts))
    return result.outcome.value


@shared_task(name="bookings.deliver_pending_notifications")
def deliver_pending_notifications(limit: int = 200, min_age_seconds: int | None = None) -> dict:
    """The outbox sweep: delivers what was never enqueued (broker down at commit time) or
    whose retry was lost. At-least-once, for the reason deliver_notification gives."""
    result = notifications.notifications_deliver_pending(
        limit=limit,
        min_age=timedelta(seconds=min_age_seconds) if min_age_seconds is not None else None,
    )
    return {"sent": result.sent, "failed": result.failed, "retry_later": result.retry_later}


@shared_task(name="bookings.roll_up_occupancy")
def roll_up_occupancy(hour: str | None = None) -> int:
    """Write the occupancy roll-up for one clock hour (default: the last complete one).
    Idempotent (an upsert per facility and hour), so a repeat simply rewrites the row."""
    start = _when(hour) or sweeps.hour_start(timezone.now()) - timedelta(hours=1)
    return sweeps.occupancy_roll_up(hour=start)


@shared_task(name="bookings.anonymize_old_bookings")
def anonymize_old_bookings(batch_size: int | None = None, max_batches: int | None = None) -> int:
    """Drop personal data from bookings past the retention period. Idempotent: an
    anonymised booking is never claimed again."""
    return sweeps.sweep_anonymize(batch_size=batch_size, max_batches=max_batches).count
