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
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, JSONField, Q, Value

from bookings.permit_hours import hours_of, hours_text
from bookings.states import (
    LIVE,
    LIVE_STATUSES,
    OCCUPYING,
    PERMIT_HELD,
    ActorKind,
    BookingStatus,
    PermitStatus,
)
from facilities.models import MONEY, WEEKDAYS, Facility, RateVersion, Spot, SpotKind
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
    # Set when the auto check-out sweep closed a booking nobody checked out (the moment it
    # ran): the flag staff review such bookings by.
    auto_checked_out_at = models.DateTimeField(null=True, blank=True)
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
            # Occupancy (roll-up, dashboard, reports) of a window [s, e): the bookings that
            # end after s, found from s on, never by a pass over the history before it;
            # covering, so the roll-up reads the index alone.
            models.Index(
                fields=["ends_at"],
                include=["starts_at", "facility", "spot"],
                condition=OCCUPYING,
                name="booking_occupying_ends_idx",
            ),
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
    AUTO_CHECKED_OUT = "auto_checked_out", "Checked out automatically"
    CANCELLED = BookingStatus.CANCELLED.value, "Cancelled"
    PERMIT_CREATED = "permit_created", "Permit issued"
    PERMIT_REMINDER = "permit_reminder", "Permit renews or ends in 7 days"
    PERMIT_RENEWED = "permit_renewed", "Permit renewed"
    PERMIT_NOT_RENEWED = "permit_not_renewed", "Permit not renewed"


PERMIT_NOTIFICATION_KINDS = (
    NotificationKind.PERMIT_CREATED,
    NotificationKind.PERMIT_REMINDER,
    NotificationKind.PERMIT_RENEWED,
    NotificationKind.PERMIT_NOT_RENEWED,
)


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """Outbox row, written in the same transaction as the state change it announces: about
    a booking (once per booking and kind) or a permit (once per permit, kind and period)."""

    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    permit = models.ForeignKey(
        "Permit", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    # For a permit: the end of the period it is about (a renewal reminder comes every period).
    period_ends_at = models.DateTimeField(null=True, blank=True)
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
            models.UniqueConstraint(
                fields=["permit", "kind", "period_ends_at"],
                name="notification_permit_once_per_period",
            ),
            models.CheckConstraint(
                condition=Q(booking__isnull=False, permit__isnull=True)
                | Q(booking__isnull=True, permit__isnull=False, period_ends_at__isnull=False),
                name="notification_about_one_thing",
            ),
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
        return f"{self.kind} for {self.booking_id or self.permit_id} ({self.status})"


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
    permit = models.ForeignKey(
        "Permit", on_delete=models.SET_NULL, null=True, blank=True, related_name="gate_events"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["facility", "-at"], name="gateevent_facility_recent_idx"),
            # Presence of permit holders: the latest opening per permit at a facility.
            models.Index(
                fields=["facility", "permit", "-at", "-id"],
                include=["direction", "plate_normalized"],
                condition=Q(permit__isnull=False, action=str(GateAction.OPEN)),
                name="gateevent_permit_presence_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.action} ({self.reason})"


# --- permits ------------------------------------------------------------------------------


class PermitProductQuerySet(TenantQuerySet["PermitProduct"]):
    operator_path = "facility__operator"

    def on_sale(self) -> PermitProductQuerySet:
        return self.filter(on_sale=True, facility__is_active=True)


class PermitProduct(models.Model):
    """A pass an operator sells at one facility (commuter, resident, 24/7 …). While its
    hours are in force, ``allocated_spaces`` spots of its kind are withheld from bookings,
    on sale or not (existing holders still need them: set the allocation to 0 to release
    them). At most ``allocated × (1 + oversell/100)`` permits run at once."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="permit_products")
    name = models.CharField(max_length=80)
    spot_kind = models.CharField(max_length=16, choices=SpotKind.choices, default=SpotKind.STANDARD)
    monthly_price = models.DecimalField(**MONEY, help_text="Per period (a month), VAT included.")
    currency = models.CharField(max_length=3, default="EUR")
    vat_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("25.50"))
    allocated_spaces = models.PositiveIntegerField(default=0)
    oversell_percent = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="Sell this much more than allocated (not every holder is in at once).",
    )
    on_sale = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PermitProductQuerySet.as_manager()

    class Meta:
        ordering = ["facility", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="permitproduct_name_unique"),
            models.CheckConstraint(
                condition=Q(monthly_price__gte=0), name="permitproduct_price_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(oversell_percent__lte=100), name="permitproduct_oversell_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.facility})"

    @property
    def sales_cap(self) -> int:
        """How many permits may run at once: allocation × (1 + oversell/100), rounded down."""
        return self.allocated_spaces * (100 + self.oversell_percent) // 100


class PermitHours(models.Model):
    """When a product's permits let their plates in: from ``starts`` on each listed weekday
    (local time) until ``ends`` the same day, or the next day when ``ends`` is not after
    ``starts`` (17:00 → 09:00 crosses midnight; 00:00 → 00:00 is the whole day)."""

    product = models.ForeignKey(PermitProduct, on_delete=models.CASCADE, related_name="hours")
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=WEEKDAYS),
        help_text="0 = Monday … 6 = Sunday: the days a period starts on.",
    )
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["product", "starts", "id"]
        verbose_name_plural = "permit hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekdays__contained_by=[0, 1, 2, 3, 4, 5, 6]) & Q(weekdays__len__gte=1),
                name="permithours_weekdays",
            ),
        ]

    def __str__(self) -> str:
        return hours_text(hours_of([self]))


def new_permit_reference() -> str:
    return "P" + new_reference()[:7]


class PermitQuerySet(TenantQuerySet["Permit"]):
    operator_path = "product__facility__operator"

    def for_holder(self, user) -> PermitQuerySet:
        return self.filter(holder=user)

    def held(self) -> PermitQuerySet:
        """Permits that count against their product's cap (not expired)."""
        return self.filter(PERMIT_HELD)


class Permit(models.Model):
    """A pass for 1–3 plates: lets them in during its product's hours while its period
    ``[valid_from, valid_to)`` runs, one vehicle inside at a time. Held by a driver
    account, or issued by staff to a company fleet with a contact e-mail."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        max_length=12, unique=True, default=new_permit_reference, editable=False
    )
    product = models.ForeignKey(PermitProduct, on_delete=models.PROTECT, related_name="permits")
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="permits",
    )
    company_name = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField(blank=True)
    plates = ArrayField(models.CharField(max_length=20), help_text="Plates as typed (1–3).")
    plates_normalized = ArrayField(models.CharField(max_length=20), editable=False)
    # The local day the first period started: later periods keep it (31st → 30th → 31st).
    first_day = models.DateField()
    valid_from = models.DateTimeField(help_text="Start of the current period.")
    valid_to = models.DateTimeField(help_text="End of the current period (exclusive).")
    status = models.CharField(
        max_length=16, choices=PermitStatus.choices, default=PermitStatus.ACTIVE
    )
    auto_renew = models.BooleanField(default=True)
    price = models.DecimalField(**MONEY)
    price_vat = models.DecimalField(**MONEY, default=Decimal("0"))
    currency = models.CharField(max_length=3)
    status_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PermitQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gt=F("valid_from")), name="permit_period_nonempty"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PermitStatus.values), name="permit_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(plates_normalized__len__gte=1) & Q(plates_normalized__len__lte=3),
                name="permit_one_to_three_plates",
            ),
            models.CheckConstraint(
                condition=Q(holder__isnull=False) | ~Q(contact_email=""),
                name="permit_has_holder_or_contact",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0) & Q(price_vat__gte=0), name="permit_money_nonnegative"
            ),
        ]
        indexes = [
            # The gate and the entitlement check: permits carrying a plate (GIN on the array).
            GinIndex(fields=["plates_normalized"], name="permit_plates_idx"),
            models.Index(
                fields=["product", "valid_to"],
                condition=PERMIT_HELD,
                name="permit_held_product_idx",
            ),
            models.Index(
                fields=["valid_to"],
                condition=PERMIT_HELD,
                name="permit_held_sweep_idx",
            ),
            models.Index(fields=["holder", "-valid_from"], name="permit_holder_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def recipient(self) -> str:
        """Where notices about this permit go: the holder, else the fleet contact."""
        return self.contact_email or (self.holder.email if self.holder else "")


class PermitEvent(models.Model):
    """The history of a permit: issued, renewed, plates changed, suspended, … with who
    and why."""

    permit = models.ForeignKey(Permit, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(max_length=16, default=ActorKind.DRIVER)
    at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.permit_id}: {self.action} → {self.to_status}"
