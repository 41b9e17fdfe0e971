"""Core Celery tasks: thin wrappers over parkme.services."""

from __future__ import annotations

from celery import shared_task

from parkme import services


@shared_task(name="parkme.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Drop refresh tokens (and their blacklist rows) past their expiry: nothing can use
    them any more. Idempotent."""
    return services.tokens_flush_expired()
