"""Install ParkMe's Celery beat schedules (bookings/schedules.py) into the database.

Idempotent: creates missing schedules, resets changed ones to the registry, and removes
ParkMe schedules (names starting with the registry's prefix) that are no longer defined.
Run it after every `migrate`.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from bookings.schedules import PREFIX, Schedule, current_schedules

CRONTAB_DEFAULTS = {
    "minute": "*",
    "hour": "*",
    "day_of_week": "*",
    "day_of_month": "*",
    "month_of_year": "*",
}


def _interval(seconds: int) -> IntervalSchedule:
    # No unique constraint on (every, period): reuse the first match instead of get_or_create.
    found = IntervalSchedule.objects.filter(every=seconds, period=IntervalSchedule.SECONDS).first()
    return found or IntervalSchedule.objects.create(every=seconds, period=IntervalSchedule.SECONDS)


def _crontab(fields: dict[str, str], zone: str) -> CrontabSchedule:
    spec = {**CRONTAB_DEFAULTS, **fields}
    found = CrontabSchedule.objects.filter(timezone=zone, **spec).first()
    return found or CrontabSchedule.objects.create(timezone=zone, **spec)


def _wanted(schedule: Schedule) -> dict:
    return {
        "task": schedule.task,
        "interval": _interval(schedule.every_seconds) if schedule.every_seconds else None,
        "crontab": _crontab(schedule.crontab, schedule.timezone) if schedule.crontab else None,
        "solar": None,
        "clocked": None,
        "args": "[]",
        "kwargs": json.dumps(schedule.kwargs, sort_keys=True),
        "expire_seconds": schedule.expire_seconds,
        "description": schedule.description,
        "one_off": False,
        "enabled": True,
    }


class Command(BaseCommand):
    help = "Create, update and prune ParkMe's Celery beat schedules (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        created = updated = unchanged = 0
        schedules = current_schedules()
        for name, schedule in schedules.items():
            wanted = _wanted(schedule)
            task = PeriodicTask.objects.select_for_update().filter(name=name).first()
            if task is None:
                PeriodicTask.objects.create(name=name, **wanted)
                created += 1
                self.stdout.write(f"created  {name} ({schedule.task})")
                continue
            changed = [key for key, value in wanted.items() if getattr(task, key) != value]
            if not changed:
                unchanged += 1
                continue
            for key in changed:
                setattr(task, key, wanted[key])
            task.save()
            updated += 1
            self.stdout.write(f"updated  {name}: {', '.join(changed)}")
        stale = PeriodicTask.objects.filter(name__startswith=PREFIX).exclude(
            name__in=list(schedules)
        )
        removed = 0
        for task in stale:
            self.stdout.write(f"removed  {task.name} ({task.task})")
            task.delete()  # one by one: the delete signal tells a running beat to reload
            removed += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"beat schedules: {created} created, {updated} updated, "
                f"{unchanged} unchanged, {removed} removed"
            )
        )
