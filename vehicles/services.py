"""Writes for drivers' vehicles."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from parkme.errors import Conflict, ValidationFailed
from parkme.models import User
from vehicles.models import Vehicle
from vehicles.plates import is_valid_normalized_plate, normalize_plate


class DuplicatePlate(ValidationFailed):
    code = "duplicate_plate"
    default_message = "You already have an active vehicle with this plate."


def _validated_plate(plate: str) -> str:
    normalized = normalize_plate(plate)
    if not is_valid_normalized_plate(normalized):
        raise ValidationFailed(
            "The plate must have 1-15 letters or digits (spaces and dashes are ignored).",
            fields={"plate": ["Use letters and digits only, at most 15 of them."]},
        )
    return normalized


def _save(vehicle: Vehicle, **kwargs) -> Vehicle:
    try:
        with transaction.atomic():
            vehicle.save(**kwargs)
    except IntegrityError as exc:
        if "vehicle_active_plate_per_owner" in str(exc):
            raise DuplicatePlate(fields={"plate": [DuplicatePlate.default_message]}) from exc
        raise
    return vehicle


def vehicle_create(*, owner: User, plate: str, kind: str = "car", is_ev: bool = False) -> Vehicle:
    normalized = _validated_plate(plate)
    if Vehicle.objects.for_owner(owner).active().filter(plate_normalized=normalized).exists():
        raise DuplicatePlate(fields={"plate": [DuplicatePlate.default_message]})
    return _save(Vehicle(owner=owner, plate=plate.strip(), kind=kind, is_ev=is_ev))


def vehicle_update(*, vehicle: Vehicle, **changes) -> Vehicle:
    if "plate" in changes:
        normalized = _validated_plate(changes["plate"])
        clash = (
            Vehicle.objects.for_owner(vehicle.owner_id)
            .active()
            .filter(plate_normalized=normalized)
            .exclude(pk=vehicle.pk)
            .exists()
        )
        if clash:
            raise DuplicatePlate(fields={"plate": [DuplicatePlate.default_message]})
        changes["plate"] = changes["plate"].strip()
    if not vehicle.is_active:
        raise Conflict("This vehicle was removed; add it again instead.")
    for field, value in changes.items():
        setattr(vehicle, field, value)
    return _save(vehicle)


def vehicle_deactivate(*, vehicle: Vehicle) -> Vehicle:
    """Keeps the row (bookings refer to it) but hides it from the driver."""
    from bookings.models import Booking

    if Booking.objects.live().filter(vehicle=vehicle).exists():
        raise Conflict(
            "This vehicle has live bookings; cancel or finish them first.",
            fields={"vehicle": ["Has live bookings."]},
        )
    vehicle.is_active = False
    vehicle.save(update_fields=["is_active"])
    return vehicle
