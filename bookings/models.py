"""Bookings, their audit trail of state changes, and the notification outbox.

PostgreSQL enforces the invariants: no two live bookings overlap
on a spot or for a vehicle (GiST exclusion over one-point id ranges, no btree_gist),
the window is non-empty, one idempotency key per driver, and the hot queries and sweeps
have partial indexes.
"""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, JSONField, Q, Value

from bookings.states import LIVE, LIVE_STATUSES, OCCUPYING, ActorKind, BookingStatus
from facilities.models import Facility, RateVersion, Spot, SpotKind
from parkme.db import IdPoint, TsTzRange
from parkme.tenancy import TenantQuerySet
from vehicles.models import Vehicle

# Crockford base32 without look-alikes (no I, L, O, U): easy to read out at a gate.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def new_access_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


class BookingQuerySet(TenantQuerySet["Booking"]):
    operator_path = "facility__operator"

    def for_driver(self, user) -> BookingQuerySet:
        return self.filter(driver=user)

    def live(self) -> BookingQuerySet:
        return self.filter(LIVE)

    def occupying(self) -> BookingQuerySet:
        return self.filter(OCCUPYING)

    def overlapping(self, starts_at, ends_at) -> BookingQuerySet:
        """Half-open [starts_at, ends_at) overlap."""
        return self.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


class Booking(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=12, unique=True, default=new_reference, editable=False)
    # Nullable only so that anonymisation can drop the link to a person after retention.
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="bookings",
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, null=True, related_name="bookings"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="bookings")
    spot = models.ForeignKey(Spot, on_delete=models.PROTECT, related_name="bookings")
    spot_kind = models.CharField(max_length=16, choices=SpotKind.choices, default=SpotKind.STANDARD)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=BookingStatus.choices)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The rate version that priced the booking and its itemised lines, as quoted.
    rate_version = models.ForeignKey(
        RateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings"
    )
    # Database defaults: rows written by code that predates these columns (a release
    # rolling out, bulk SQL) still insert.
    price_lines = models.JSONField(default=list, db_default=Value([], JSONField()), blank=True)
    price_vat = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    cancellation_fee = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    access_code = models.CharField(max_length=6, default=new_access_code)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    overstay_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    anonymized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            ExclusionConstraint(
                name="booking_no_spot_overlap",
                index_type="GIST",
                expressions=[
                    (IdPoint("spot"), RangeOperators.OVERLAPS),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=LIVE,
            ),
            ExclusionConstraint(
                name="booking_no_vehicle_overlap",
                index_type="GIST",
                expressions=[
                    (IdPoint("vehicle"), RangeOperators.OVERLAPS),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=LIVE,
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=BookingStatus.values), name="booking_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0) & Q(overstay_fee__gte=0),
                name="booking_money_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(cancellation_fee__gte=0) & Q(price_vat__gte=0),
                name="booking_fees_nonnegative",
            ),
            models.CheckConstraint(
                condition=~Q(status=BookingStatus.HELD) | Q(hold_expires_at__isnull=False),
                name="booking_held_has_expiry",
            ),
            models.CheckConstraint(
                condition=~LIVE | (Q(driver__isnull=False) & Q(vehicle__isnull=False)),
                name="booking_live_has_driver_and_vehicle",
            ),
            models.UniqueConstraint(
                fields=["driver", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="booking_idempotency_key_per_driver",
            ),
        ]
        indexes = [
            # Covering: availability reads the taken spots of a window from the index
            # alone (index-only scan), without visiting every live booking's heap row.
            models.Index(
                fields=["facility", "status", "starts_at"],
                include=["ends_at", "spot"],
                condition=LIVE,
                name="booking_live_fac_status_idx",
            ),
            models.Index(
                fields=["hold_expires_at"],
                condition=Q(status=BookingStatus.HELD),
                name="booking_held_sweep_idx",
            ),
            models.Index(
                fields=["starts_at"],
                condition=Q(status=BookingStatus.CONFIRMED),
                name="booking_confirmed_sweep_idx",
            ),
            models.Index(
                fields=["ends_at"],
                condition=Q(status=BookingStatus.ACTIVE),
                name="booking_active_sweep_idx",
            ),
            models.Index(fields=["driver", "-starts_at"], name="booking_driver_recent_idx"),
            models.Index(
                fields=["ends_at"],
                condition=Q(anonymized_at__isnull=True),
                name="booking_retention_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class BookingEvent(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(max_length=16, default=ActorKind.DRIVER)
    at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.from_status or '∅'} → {self.to_status}"


class NotificationKind(models.TextChoices):
    # Three kinds announce a status and share its name.
    CONFIRMED = BookingStatus.CONFIRMED.value, "Booking confirmed"
    REMINDER_START = "reminder_start", "Reminder before start"
    ENDING_SOON = "ending_soon", "Ending soon"
    EXPIRED = BookingStatus.EXPIRED.value, "Expired (no-show)"
    OVERSTAY = "overstay", "Overstay"
    CANCELLED = BookingStatus.CANCELLED.value, "Cancelled"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """Outbox row, written in the same transaction as the state change it announces."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="notification_once_per_kind"),
            models.CheckConstraint(
                condition=Q(status__in=NotificationStatus.values), name="notification_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status=NotificationStatus.PENDING),
                name="notification_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.booking_id} ({self.status})"


class GateDirection(models.TextChoices):
    ENTRY = "entry", "Entry"
    EXIT = "exit", "Exit"


class GateAction(models.TextChoices):
    OPEN = "open", "Open"
    DENY = "deny", "Deny"


class GateEvent(models.Model):
    """What a gate device reported and what ParkMe answered."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="gate_events")
    device = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    plate_normalized = models.CharField(max_length=20)
    direction = models.CharField(max_length=8, choices=GateDirection.choices)
    action = models.CharField(max_length=8, choices=GateAction.choices)
    reason = models.CharField(max_length=32)
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="gate_events"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["facility", "-at"], name="gateevent_facility_recent_idx")]

    def __str__(self) -> str:
        return f"{self.direction} {self.action} ({self.reason})"
