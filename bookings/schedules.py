"""Every Celery beat schedule ParkMe runs, by name: `manage.py setup_schedules` installs them.

Beat reads schedules from the database (django-celery-beat's DatabaseScheduler), so staff
can pause one in the admin; this registry is what a deploy resets them to. Names start with
PREFIX, which is how the command knows which rows are ours to remove.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "parkme: "


@dataclass(frozen=True)
class Schedule:
    task: str
    description: str
    every_seconds: int | None = None
    # crontab fields in UTC: minute, hour, day_of_week, day_of_month, month_of_year
    crontab: dict[str, str] | None = None
    kwargs: dict = field(default_factory=dict)
    # A run beat could not hand to a worker in time is dropped, not queued up behind others.
    expire_seconds: int | None = None


def _every_minute(task: str, description: str) -> Schedule:
    return Schedule(task=task, description=description, every_seconds=60, expire_seconds=55)


SCHEDULES: dict[str, Schedule] = {
    f"{PREFIX}expire holds": _every_minute(
        "bookings.expire_holds", "held → expired once the hold has timed out"
    ),
    f"{PREFIX}expire no-shows": _every_minute(
        "bookings.expire_no_shows", "confirmed → expired past starts_at + grace"
    ),
    f"{PREFIX}flag overstays": Schedule(
        task="bookings.flag_overstays",
        description="notify active bookings past ends_at + grace (once each)",
        every_seconds=300,
        expire_seconds=290,
    ),
    f"{PREFIX}auto check-out": Schedule(
        task="bookings.auto_check_out",
        description="check out active bookings with no exit long after ends_at + grace",
        every_seconds=15 * 60,
        expire_seconds=14 * 60,
    ),
    f"{PREFIX}reminders before start": _every_minute(
        "bookings.send_start_reminders", "remind drivers before their booking starts"
    ),
    f"{PREFIX}reminders before end": _every_minute(
        "bookings.send_ending_soon_reminders", "tell parked drivers their booking ends soon"
    ),
    f"{PREFIX}deliver pending notifications": _every_minute(
        "bookings.deliver_pending_notifications",
        "outbox sweep: deliver notifications still pending after a minute",
    ),
    f"{PREFIX}deliver pending webhooks": _every_minute(
        "webhooks.deliver_pending",
        "webhook sweep: re-queue endpoints whose deliveries are overdue (lost task, broker down)",
    ),
    f"{PREFIX}occupancy roll-up": Schedule(
        task="bookings.roll_up_occupancy",
        description="occupancy per facility for the last complete hour",
        crontab={"minute": "5", "hour": "*"},
        expire_seconds=3000,
    ),
    f"{PREFIX}anonymise old bookings": Schedule(
        task="bookings.anonymize_old_bookings",
        description="drop personal data from bookings past the retention period",
        crontab={"minute": "30", "hour": "2"},
        expire_seconds=6 * 3600,
    ),
    f"{PREFIX}renew permits": Schedule(
        task="bookings.renew_permits",
        description="renew auto-renewing permits within a day of their period end",
        every_seconds=15 * 60,
        expire_seconds=14 * 60,
    ),
    f"{PREFIX}expire permits": Schedule(
        task="bookings.expire_permits",
        description="permits whose period is over and that do not renew → expired",
        every_seconds=300,
        expire_seconds=290,
    ),
    f"{PREFIX}permit reminders": Schedule(
        task="bookings.send_permit_reminders",
        description="remind holders a week before their permit renews or ends",
        every_seconds=3600,
        expire_seconds=3300,
    ),
    f"{PREFIX}flush expired tokens": Schedule(
        task="parkme.flush_expired_tokens",
        description="drop expired refresh tokens and their blacklist rows",
        crontab={"minute": "45", "hour": "2"},
        expire_seconds=6 * 3600,
    ),
}
