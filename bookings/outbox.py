"""The notification outbox: rows written in the same transaction as the state change."""

from __future__ import annotations

from bookings.models import Booking, Notification


def outbox_add(*, booking: Booking, kind: str) -> None:
    """Queue one notification of this kind for this booking; a second call is a no-op
    (unique per booking and kind, enforced by PostgreSQL)."""
    Notification.objects.bulk_create(
        [Notification(booking=booking, kind=kind)], ignore_conflicts=True
    )
