"""Every Celery beat schedule ParkMe runs, by name: `manage.py setup_schedules` installs them.

Beat reads schedules from the database (django-celery-beat's DatabaseScheduler), so staff
can pause one in the admin; this registry is what a deploy resets them to. Names start with
PREFIX, which is how the command knows which rows are ours to remove.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "parkme: "


@dataclass(frozen=True)
class Schedule:
    task: str
    description: str
    every_seconds: int | None = None
    # crontab fields in `timezone`: minute, hour, day_of_week, day_of_month, month_of_year
    crontab: dict[str, str] | None = None
    kwargs: dict = field(default_factory=dict)
    # A run beat could not hand to a worker in time is dropped, not queued up behind others.
    expire_seconds: int | None = None
    # Zone of the crontab fields (an IANA name); beat follows its daylight saving time.
    timezone: str = "UTC"


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


# --- backups: times and zone come from settings (BACKUP_TIME, BACKUP_DRILL_*) ---------------
_WEEKDAYS = {
    name: str(number)
    for number, day in enumerate(
        ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
    )
    for name in (day, day[:3], str(number))
}
_WEEKDAYS["7"] = "0"


def _local_time(name: str, value: str) -> dict[str, str]:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise ImproperlyConfigured(
            f"{name} must be a time of day HH:MM (e.g. 03:00), not {value!r}"
        )
    return {"minute": str(int(match.group(2))), "hour": str(int(match.group(1)))}


def _zone(name: str, value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ImproperlyConfigured(
            f"{name} must be a time zone name (e.g. Europe/Helsinki), not {value!r}"
        ) from None
    return value


def backup_schedules() -> dict[str, Schedule]:
    """The nightly backup and the weekly restore drill, at local times from settings."""
    zone = _zone("BACKUP_TIME_ZONE", settings.BACKUP_TIME_ZONE)
    day = _WEEKDAYS.get(settings.BACKUP_DRILL_DAY.strip().lower())
    if day is None:
        raise ImproperlyConfigured(
            f"BACKUP_DRILL_DAY must be a weekday (sunday, monday, ... or 0-6), "
            f"not {settings.BACKUP_DRILL_DAY!r}"
        )
    return {
        f"{PREFIX}nightly backup": Schedule(
            task="parkme.backup_nightly",
            description=f"pg_dump to BACKUP_LOCAL_DIR and S3, then retention ({zone} time)",
            crontab=_local_time("BACKUP_TIME", settings.BACKUP_TIME),
            timezone=zone,
            expire_seconds=6 * 3600,
        ),
        f"{PREFIX}restore drill": Schedule(
            task="parkme.restore_drill",
            description=f"restore the latest backup into a scratch database, check it, drop it "
            f"({zone} time)",
            crontab={
                **_local_time("BACKUP_DRILL_TIME", settings.BACKUP_DRILL_TIME),
                "day_of_week": day,
            },
            timezone=zone,
            expire_seconds=12 * 3600,
        ),
    }


def current_schedules() -> dict[str, Schedule]:
    """Every schedule, the settings-dependent ones as the settings are now."""
    return {**SCHEDULES, **backup_schedules()}


SCHEDULES.update(backup_schedules())
