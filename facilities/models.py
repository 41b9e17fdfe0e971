"""Facilities, their zones and spots, and the rate plan that prices them.

Spot status is operational only (available / maintenance): occupancy is always derived
from bookings, never stored on the spot.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.expressions import Combinable

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


class RatePlanQuerySet(TenantQuerySet["RatePlan"]):
    operator_path = "facility__operator"

    def in_force(self, *, at: datetime | Combinable | None = None) -> RatePlanQuerySet:
        """Plans that price a window starting at ``at`` (an instant, or an expression such
        as ``OuterRef("starts_at")`` inside a subquery). Today a facility has one active
        plan at any time, so ``at`` does not narrow it yet; dated rate tables will."""
        return self.filter(is_active=True)


class RatePlan(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="rate_plans")
    currency = models.CharField(max_length=3, default="EUR")
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    daily_max = models.DecimalField(max_digits=10, decimal_places=2)
    grace_minutes = models.PositiveSmallIntegerField(default=15)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RatePlanQuerySet.as_manager()

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
