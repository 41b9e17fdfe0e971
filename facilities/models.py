"""Facilities, their zones and spots, and the rate plan that prices them.

Spot status is operational only (available / maintenance): occupancy is always derived
from bookings, never stored on the spot.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import Combinable

from parkme.db import IdPoint, TsTzRange
from parkme.models import Operator
from parkme.tenancy import TenantQuerySet


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone", code="invalid_timezone")


class FacilityQuerySet(TenantQuerySet["Facility"]):
    operator_path = "operator"

    def active(self) -> FacilityQuerySet:
        return self.filter(is_active=True)


class Facility(models.Model):
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="facilities")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    address = models.CharField(max_length=255, blank=True)
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    timezone = models.CharField(
        max_length=64, default="Europe/Helsinki", validators=[validate_timezone]
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "slug"], name="facility_slug_per_operator"),
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90)
                & Q(longitude__gte=-180, longitude__lte=180),
                name="facility_coordinates_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["latitude", "longitude"],
                condition=Q(is_active=True),
                name="facility_active_geo_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Zone(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(max_length=80)
    level = models.SmallIntegerField(default=0)

    class Meta:
        ordering = ["level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="zone_name_per_facility"),
        ]

    def __str__(self) -> str:
        return f"{self.facility} · {self.name}"


class SpotKind(models.TextChoices):
    STANDARD = "standard", "Standard"
    COMPACT = "compact", "Compact"
    EV = "ev", "EV charging"
    ACCESSIBLE = "accessible", "Accessible"
    MOTORCYCLE = "motorcycle", "Motorcycle"


class SpotStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    MAINTENANCE = "maintenance", "Maintenance"


# A spot takes bookings when it is active and not in maintenance: the one definition, as a
# queryset filter and, for the raw SQL of availability, as a fragment over alias ``s``.
BOOKABLE = Q(is_active=True, status=SpotStatus.AVAILABLE.value)
BOOKABLE_SPOT_SQL = f"s.is_active AND s.status = '{SpotStatus.AVAILABLE.value}'"


class SpotQuerySet(TenantQuerySet["Spot"]):
    operator_path = "facility__operator"

    def bookable(self, kind: str | None = None) -> SpotQuerySet:
        spots = self.filter(BOOKABLE)
        return spots.filter(kind=kind) if kind else spots


class Spot(models.Model):
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="spots")
    # Denormalised from zone so availability counts per facility need no join.
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="spots")
    code = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=SpotKind.choices, default=SpotKind.STANDARD)
    status = models.CharField(
        max_length=16, choices=SpotStatus.choices, default=SpotStatus.AVAILABLE
    )
    is_active = models.BooleanField(default=True)

    objects = SpotQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "code"], name="spot_code_per_facility"),
            models.CheckConstraint(condition=Q(kind__in=SpotKind.values), name="spot_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=SpotStatus.values), name="spot_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["zone", "kind"], condition=BOOKABLE, name="spot_bookable_zone_kind_idx"
            ),
            models.Index(
                fields=["facility", "kind"],
                condition=BOOKABLE,
                name="spot_bookable_fac_kind_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.zone_id and self.facility_id and self.zone.facility_id != self.facility_id:
            raise ValidationError({"zone": "The zone belongs to another facility."})


class RatePlan(models.Model):
    """The single rate plan of before rate versions: nothing reads it any more (its rows
    became versions in migration 0005); the table stays for one release, for rollback."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="rate_plans")
    currency = models.CharField(max_length=3, default="EUR")
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    daily_max = models.DecimalField(max_digits=10, decimal_places=2)
    grace_minutes = models.PositiveSmallIntegerField(default=15)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility"], condition=Q(is_active=True), name="rateplan_one_active"
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=Decimal("0")), name="rateplan_hourly_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(daily_max__gte=Decimal("0")), name="rateplan_daily_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="rateplan_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(grace_minutes__lte=24 * 60), name="rateplan_grace_at_most_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.facility}: {self.hourly_rate} {self.currency}/h, max {self.daily_max}/day"


# --- rate tables ---------------------------------------------------------------------------

MONEY = {"max_digits": 10, "decimal_places": 2}
WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
UNIT_CHOICES = [(15, "15 min"), (30, "30 min"), (60, "1 hour")]


def _all_weekdays() -> list[int]:
    return list(range(7))


class RateVersionQuerySet(TenantQuerySet["RateVersion"]):
    operator_path = "facility__operator"

    def in_force(self, *, at: datetime | Combinable) -> RateVersionQuerySet:
        """Versions whose period ``[valid_from, valid_to)`` holds ``at`` (an instant, or
        an expression such as ``OuterRef("starts_at")``): at most one per facility. Raw
        SQL uses its twin RATE_VERSION_IN_FORCE_SQL."""
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at)


# The in_force rule over a rate version aliased ``v``, for raw SQL, at %(at)s.
RATE_VERSION_IN_FORCE_SQL = "v.valid_from <= %(at)s AND (v.valid_to IS NULL OR v.valid_to > %(at)s)"


class RateVersion(models.Model):
    """One dated version of a facility's rate board: what every window starting in
    ``[valid_from, valid_to)`` costs (prices include VAT), the grace for no-shows and
    overstays, and the cancellation policy. Versions of one facility never overlap."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="rate_versions")
    label = models.CharField(max_length=80, blank=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True, help_text="Empty: until further notice.")
    currency = models.CharField(max_length=3, default="EUR")
    vat_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    grace_minutes = models.PositiveSmallIntegerField(default=15)
    daily_max = models.DecimalField(**MONEY, null=True, blank=True)
    overnight_starts = models.TimeField(null=True, blank=True)
    overnight_ends = models.TimeField(null=True, blank=True)
    overnight_max = models.DecimalField(**MONEY, null=True, blank=True)
    minimum_charge = models.DecimalField(**MONEY, default=Decimal("0"))
    cancel_free_hours = models.PositiveSmallIntegerField(
        default=0, help_text="Cancelling is free until this many hours before the start."
    )
    cancel_fee_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Of the price."
    )
    cancel_fee_fixed = models.DecimalField(**MONEY, null=True, blank=True)
    # The whole board (this row's fields and every rule row) as facilities.boards dumps it,
    # rewritten whenever any of them changes: pricing reads one row, never five tables.
    compiled = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RateVersionQuerySet.as_manager()

    class Meta:
        ordering = ["facility_id", "valid_from"]
        constraints = [
            ExclusionConstraint(
                name="rateversion_no_overlap",
                index_type="GIST",
                expressions=[
                    (IdPoint("facility"), RangeOperators.OVERLAPS),
                    (TsTzRange("valid_from", "valid_to"), RangeOperators.OVERLAPS),
                ],
                violation_error_message=(
                    "This version's period overlaps another version of the facility."
                ),
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="rateversion_period_nonempty",
                violation_error_message="A version must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="rateversion_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(vat_percent__gte=0, vat_percent__lte=100),
                name="rateversion_vat_percent",
            ),
            models.CheckConstraint(
                condition=Q(grace_minutes__lte=24 * 60), name="rateversion_grace_at_most_a_day"
            ),
            models.CheckConstraint(
                condition=Q(minimum_charge__gte=0)
                & (Q(daily_max__isnull=True) | Q(daily_max__gte=0))
                & (Q(cancel_fee_fixed__isnull=True) | Q(cancel_fee_fixed__gte=0)),
                name="rateversion_money_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(
                    overnight_starts__isnull=True,
                    overnight_ends__isnull=True,
                    overnight_max__isnull=True,
                )
                | Q(
                    overnight_starts__isnull=False,
                    overnight_ends__isnull=False,
                    overnight_max__gte=0,
                ),
                name="rateversion_overnight_complete",
                violation_error_message=(
                    "An overnight maximum needs its start, its end and its amount."
                ),
            ),
            models.CheckConstraint(
                condition=Q(cancel_fee_percent__isnull=True) | Q(cancel_fee_fixed__isnull=True),
                name="rateversion_one_cancel_fee",
                violation_error_message="Give a cancellation fee as a percent or a fixed amount.",
            ),
            models.CheckConstraint(
                condition=Q(cancel_fee_percent__isnull=True)
                | Q(cancel_fee_percent__gte=0, cancel_fee_percent__lte=100),
                name="rateversion_cancel_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.facility} from {self.valid_from:%Y-%m-%d}"


class _TariffFields(models.Model):
    """A local ``[starts, ends)`` time span charged per started unit."""

    starts = models.TimeField()
    ends = models.TimeField(null=True, blank=True, help_text="Empty: midnight (end of day).")
    unit_minutes = models.PositiveSmallIntegerField(choices=UNIT_CHOICES, default=60)
    unit_price = models.DecimalField(**MONEY)
    label = models.CharField(max_length=60, blank=True)

    class Meta:
        abstract = True


class RateBand(_TariffFields):
    version = models.ForeignKey(RateVersion, on_delete=models.CASCADE, related_name="bands")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)

    class Meta:
        ordering = ["weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="rateband_weekday"),
            models.CheckConstraint(
                condition=Q(ends__isnull=True) | Q(ends__gt=F("starts")),
                name="rateband_span",
                violation_error_message="A band must end after it starts (empty end: midnight).",
            ),
            models.CheckConstraint(
                condition=Q(unit_minutes__in=[15, 30, 60]), name="rateband_unit"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="rateband_price"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends or '24:00'}"


class SpecialDay(models.Model):
    """Public holidays and events: local dates priced flat or by their own bands."""

    version = models.ForeignKey(RateVersion, on_delete=models.CASCADE, related_name="special_days")
    label = models.CharField(max_length=80)
    first_day = models.DateField()
    last_day = models.DateField()
    flat_price = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Per date; empty: priced by its bands."
    )

    class Meta:
        ordering = ["first_day"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")),
                name="specialday_range",
                violation_error_message="A special day's last date cannot be before its first.",
            ),
            models.CheckConstraint(
                condition=Q(flat_price__isnull=True) | Q(flat_price__gte=0),
                name="specialday_price",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class SpecialDayBand(_TariffFields):
    special_day = models.ForeignKey(SpecialDay, on_delete=models.CASCADE, related_name="bands")

    class Meta:
        ordering = ["starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__isnull=True) | Q(ends__gt=F("starts")),
                name="specialdayband_span",
            ),
            models.CheckConstraint(
                condition=Q(unit_minutes__in=[15, 30, 60]), name="specialdayband_unit"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="specialdayband_price"),
        ]

    def __str__(self) -> str:
        return f"{self.starts:%H:%M}–{self.ends or '24:00'}"


class EarlyBird(models.Model):
    version = models.ForeignKey(RateVersion, on_delete=models.CASCADE, related_name="early_birds")
    label = models.CharField(max_length=60, default="Early bird")
    enter_from = models.TimeField()
    enter_until = models.TimeField()
    leave_from = models.TimeField()
    leave_until = models.TimeField()
    price = models.DecimalField(**MONEY)
    weekdays = ArrayField(models.PositiveSmallIntegerField(), default=_all_weekdays)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(enter_until__gt=F("enter_from"))
                & Q(leave_until__gte=F("leave_from"))
                & Q(leave_from__gte=F("enter_from")),
                name="earlybird_periods",
                violation_error_message=(
                    "The early bird's windows must lie in one day: entry from–until, then "
                    "exit from–until, not before the entry window opens."
                ),
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="earlybird_price"),
        ]

    def __str__(self) -> str:
        return self.label


class KindAdjustment(models.Model):
    version = models.ForeignKey(
        RateVersion, on_delete=models.CASCADE, related_name="kind_adjustments"
    )
    kind = models.CharField(max_length=16, choices=SpotKind.choices)
    per_hour = models.DecimalField(**MONEY, default=Decimal("0"))
    percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "kind"], name="kindadjustment_once"),
            models.CheckConstraint(
                condition=Q(percent__gte=-100) & Q(percent__lte=1000),
                name="kindadjustment_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.per_hour:+}/h {self.percent:+}%"


class OccupancyRollup(models.Model):
    """How much of one facility was booked in one clock hour (UTC), written hourly by the
    roll-up task for dashboards and reports; re-running an hour rewrites its row."""

    facility = models.ForeignKey(
        Facility, on_delete=models.CASCADE, related_name="occupancy_rollups"
    )
    hour = models.DateTimeField(help_text="Start of the hour (UTC).")
    spots_total = models.PositiveIntegerField(help_text="Active, available spots.")
    spots_used = models.PositiveIntegerField(help_text="Spots booked at any time in the hour.")
    occupied_minutes = models.PositiveIntegerField(
        help_text="Booked spot-minutes inside the hour (confirmed, active or completed)."
    )
    bookings_started = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-hour", "facility_id"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "hour"], name="occupancy_once_per_hour"),
        ]
        indexes = [models.Index(fields=["hour"], name="occupancy_hour_idx")]

    def __str__(self) -> str:
        return f"{self.facility_id} @ {self.hour:%Y-%m-%d %H:00}"

    @property
    def occupancy(self) -> float:
        """Share of the hour's spot-minutes that were booked, 0.0–1.0."""
        capacity = self.spots_total * 60
        return min(self.occupied_minutes / capacity, 1.0) if capacity else 0.0
