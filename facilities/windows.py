"""Parking windows: the one home of the booking window rules.

A window is half-open, ``[starts_at, ends_at)``. Search, detail, quotes, booking and
extension all check a driver's window here (settings ``PARKME_BOOKING``): at least
MIN_MINUTES long, at most MAX_DAYS, starting no earlier than START_GRACE_PAST_MINUTES ago
and no later than MAX_AHEAD_DAYS ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from parkme.errors import ValidationFailed


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.ends_at.astimezone(UTC) - self.starts_at.astimezone(UTC)


def booking_rules() -> dict[str, Any]:
    return settings.PARKME_BOOKING


def default_window(now: datetime | None = None) -> Window:
    """The next hour, from the current minute (so that equal requests share a cache key)."""
    start = (now or timezone.now()).replace(second=0, microsecond=0)
    return Window(start, start + timedelta(hours=1))


def max_duration() -> timedelta:
    return timedelta(days=booking_rules()["MAX_DAYS"])


def duration_errors(*, starts_at: datetime, ends_at: datetime) -> list[str]:
    """What is wrong with the length of [starts_at, ends_at) (an extension checks this)."""
    rules = booking_rules()
    duration = ends_at.astimezone(UTC) - starts_at.astimezone(UTC)
    if duration <= timedelta(0):
        return ["ends_at must be after starts_at."]
    if duration < timedelta(minutes=rules["MIN_MINUTES"]):
        return [f"A booking lasts at least {rules['MIN_MINUTES']} minutes."]
    if duration > max_duration():
        return [f"A booking lasts at most {rules['MAX_DAYS']} days."]
    return []


def window_errors(*, starts_at: datetime, ends_at: datetime, now: datetime) -> dict[str, list[str]]:
    """Field → messages for a driver's window; empty when the window may be booked."""
    rules = booking_rules()
    errors: dict[str, list[str]] = {}
    if problems := duration_errors(starts_at=starts_at, ends_at=ends_at):
        errors["ends_at"] = problems
    if starts_at < now - timedelta(minutes=rules["START_GRACE_PAST_MINUTES"]):
        errors["starts_at"] = ["starts_at is in the past."]
    elif starts_at > now + timedelta(days=rules["MAX_AHEAD_DAYS"]):
        errors["starts_at"] = [f"Bookings open at most {rules['MAX_AHEAD_DAYS']} days ahead."]
    return errors


def window_validate(*, starts_at: datetime, ends_at: datetime, now: datetime) -> Window:
    """The window, or ValidationFailed (400) naming each field that breaks a rule."""
    errors = window_errors(starts_at=starts_at, ends_at=ends_at, now=now)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return Window(starts_at, ends_at)
