"""Celery beat's scheduler for ParkMe: django-celery-beat's DatabaseScheduler (schedules
live in the database, `manage.py setup_schedules` installs them) that also records a
heartbeat on every tick, so `/health/ready/`, `/metrics` and `/monitoring/stats/` can tell
a running beat from a dead or stuck one."""

from __future__ import annotations

import logging

from django_celery_beat.schedulers import DatabaseScheduler

from parkme.monitoring import beat_heartbeat_record

logger = logging.getLogger(__name__)


class HeartbeatScheduler(DatabaseScheduler):
    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        try:
            beat_heartbeat_record()
        except Exception:  # noqa: BLE001 - a missing heartbeat is reported, never fatal
            logger.warning("beat heartbeat not recorded", exc_info=True)
        return interval
