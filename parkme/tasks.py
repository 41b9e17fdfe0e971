"""Core Celery tasks: thin wrappers over parkme.services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from parkme import backup_jobs, services
from parkme.backups import BackupError


@shared_task(name="parkme.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Drop refresh tokens (and their blacklist rows) past their expiry: nothing can use
    them any more. Idempotent."""
    return services.tokens_flush_expired()


@shared_task(
    name="parkme.backup_nightly",
    soft_time_limit=settings.BACKUP_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.BACKUP_TASK_TIME_LIMIT,
)
def backup_nightly() -> dict:
    """Dump the database, keep it locally and on S3, apply retention (parkme.backup_jobs).
    A run while another is going does nothing ("skipped"); a failed run is recorded, then
    raised so the worker logs it as an error."""
    result = backup_jobs.backup_nightly()
    if result.status == "failed":
        raise BackupError(result.detail)
    return result.as_dict()


@shared_task(
    name="parkme.restore_drill",
    soft_time_limit=settings.BACKUP_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.BACKUP_TASK_TIME_LIMIT,
)
def restore_drill() -> dict:
    """Restore the latest backup into a scratch database, check its row counts, drop it."""
    result = backup_jobs.restore_drill()
    if result.status == "failed":
        raise BackupError(result.detail)
    return result.as_dict()
