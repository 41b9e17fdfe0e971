"""Celery tasks: thin wrappers that take ids or batch limits and call one service.

Every task here may run twice or concurrently (acks_late hands a task back when a worker
dies; beat may fire while the last run is still going): the services claim rows with
SELECT … FOR UPDATE SKIP LOCKED and re-check state under the lock, so a second run finds
nothing left to do. Queues: see CELERY_TASK_ROUTES.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import Task, shared_task
from django.utils import timezone

from bookings import notifications, permit_sweeps, sweeps
from bookings.notifications import Outcome


def _when(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


def _sweep_task(task_name: str, sweep_name: str, guarantee: str) -> Task:
    """A beat-driven task that runs one sweep of bookings.sweeps.SWEEPS now."""

    def run(batch_size: int | None = None, max_batches: int | None = None) -> int:
        return sweeps.sweep_run(sweep_name, batch_size=batch_size, max_batches=max_batches).count

    run.__name__ = run.__qualname__ = sweep_name
    run.__doc__ = f"{sweeps.SWEEPS[sweep_name].description}\n\n{guarantee}"
    return shared_task(name=task_name)(run)


# Exactly-once per booking: the status change, its event (and notification) commit together,
# and a claimed row no longer matches the sweep.
_MOVES_ONCE = "Exactly-once per booking: the move and its event commit together."
# At-most-once: the unique (booking, kind) constraint turns every later insert into a no-op.
_NOTIFIES_ONCE = "At-most-once per booking: unique (booking, kind) makes a repeat a no-op."

expire_holds = _sweep_task("bookings.expire_holds", "expire_holds", _MOVES_ONCE)
expire_no_shows = _sweep_task("bookings.expire_no_shows", "expire_no_shows", _MOVES_ONCE)
flag_overstays = _sweep_task("bookings.flag_overstays", "flag_overstays", _NOTIFIES_ONCE)
auto_check_out = _sweep_task(
    "bookings.auto_check_out",
    "auto_check_out",
    "Exactly-once per booking: the check-out, its fee, flag, event and notification commit "
    "together, and a completed booking no longer matches the sweep.",
)
send_start_reminders = _sweep_task(
    "bookings.send_start_reminders", "start_reminders", _NOTIFIES_ONCE
)
send_ending_soon_reminders = _sweep_task(
    "bookings.send_ending_soon_reminders", "ending_soon", _NOTIFIES_ONCE
)
anonymize_old_bookings = _sweep_task(
    "bookings.anonymize_old_bookings",
    "anonymize",
    "Idempotent: an anonymised booking is never claimed again.",
)


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


# --- permits ------------------------------------------------------------------------------


def _permit_sweep_task(task_name: str, sweep_name: str, guarantee: str) -> Task:
    """A beat-driven task that runs one sweep of bookings.permit_sweeps.PERMIT_SWEEPS now."""

    def run(batch_size: int | None = None, max_batches: int | None = None) -> int:
        return permit_sweeps.permit_sweep_run(
            sweep_name, batch_size=batch_size, max_batches=max_batches
        ).count

    run.__name__ = run.__qualname__ = sweep_name
    run.__doc__ = f"{permit_sweeps.PERMIT_SWEEPS[sweep_name].description}\n\n{guarantee}"
    return shared_task(name=task_name)(run)


renew_permits = _permit_sweep_task(
    "bookings.renew_permits",
    "renew_permits",
    "Exactly-once per permit and period: the new period, its event and its notice commit "
    "together, and a renewed (or declined) permit no longer matches the sweep.",
)
expire_permits = _permit_sweep_task(
    "bookings.expire_permits",
    "expire_permits",
    "Exactly-once per permit: the move and its event commit together.",
)
send_permit_reminders = _permit_sweep_task(
    "bookings.send_permit_reminders",
    "permit_reminders",
    "At-most-once per permit and period: unique (permit, kind, period_ends_at) makes a "
    "repeat a no-op.",
)
