"""The event types an operator's endpoint can subscribe to: the one list, used by the
models, the admin, the emitters and the docs."""

from __future__ import annotations

from django.db import models

API_VERSION = "v1"


class EventType(models.TextChoices):
    BOOKING_CREATED = "booking.created", "booking.created"
    BOOKING_CONFIRMED = "booking.confirmed", "booking.confirmed"
    BOOKING_CANCELLED = "booking.cancelled", "booking.cancelled"
    BOOKING_EXTENDED = "booking.extended", "booking.extended"
    BOOKING_CHECKED_IN = "booking.checked_in", "booking.checked_in"
    BOOKING_CHECKED_OUT = "booking.checked_out", "booking.checked_out"
    BOOKING_EXPIRED = "booking.expired", "booking.expired"
    BOOKING_OVERSTAY = "booking.overstay", "booking.overstay"
    PERMIT_CREATED = "permit.created", "permit.created"
    PERMIT_RENEWED = "permit.renewed", "permit.renewed"
    PERMIT_CANCELLED = "permit.cancelled", "permit.cancelled"
    PERMIT_EXPIRED = "permit.expired", "permit.expired"
    GATE_ENTRY = "gate.entry", "gate.entry"
    GATE_EXIT = "gate.exit", "gate.exit"


# Sent by the admin's "send test event" to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"
