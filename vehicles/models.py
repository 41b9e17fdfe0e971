from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from vehicles.plates import normalize_plate


class VehicleKind(models.TextChoices):
    CAR = "car", "Car"
    MOTORCYCLE = "motorcycle", "Motorcycle"
    VAN = "van", "Van"


class VehicleQuerySet(models.QuerySet["Vehicle"]):
    def for_owner(self, user) -> VehicleQuerySet:
        return self.filter(owner=user)

    def active(self) -> VehicleQuerySet:
        return self.filter(is_active=True)


class Vehicle(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vehicles"
    )
    plate = models.CharField(max_length=20, help_text="As the driver typed it.")
    plate_normalized = models.CharField(max_length=20, editable=False)
    kind = models.CharField(max_length=16, choices=VehicleKind.choices, default=VehicleKind.CAR)
    is_ev = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VehicleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "plate_normalized"],
                condition=Q(is_active=True),
                name="vehicle_active_plate_per_owner",
            ),
            models.CheckConstraint(
                condition=Q(plate_normalized=Upper("plate_normalized"))
                & Q(plate_normalized__regex=r"^[^\s-]{1,15}$"),
                name="vehicle_plate_normalized",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=VehicleKind.values), name="vehicle_kind_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["plate_normalized"],
                condition=Q(is_active=True),
                name="vehicle_active_plate_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.plate

    def save(self, *args, **kwargs) -> None:
        self.plate_normalized = normalize_plate(self.plate)
        super().save(*args, **kwargs)


class PlateLookup(models.Model):
    """Audit of every staff search by licence plate (plates are personal data)."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    operator = models.ForeignKey(
        "parkme.Operator", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    query = models.CharField(max_length=64)
    context = models.CharField(max_length=64, help_text="Where the look-up happened.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.staff_id} looked up {self.query!r} in {self.context}"
