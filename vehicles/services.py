"""Writes for drivers' vehicles."""

from __future__ import annotations

from collections.abc import Callable

from parkme.db import constraint_errors
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


def _duplicate_plate() -> DuplicatePlate:
    return DuplicatePlate(fields={"plate": [DuplicatePlate.default_message]})


def _save(vehicle: Vehicle) -> Vehicle:
    with constraint_errors({"vehicle_active_plate_per_owner": _duplicate_plate}):
        vehicle.save()
    return vehicle


def vehicle_create(*, owner: User, plate: str, kind: str = "car", is_ev: bool = False) -> Vehicle:
    normalized = _validated_plate(plate)
    if Vehicle.objects.for_owner(owner).active().filter(plate_normalized=normalized).exists():
        raise _duplicate_plate()
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
            raise _duplicate_plate()
        changes["plate"] = changes["plate"].strip()
    if not vehicle.is_active:
        raise Conflict("This vehicle was removed; add it again instead.")
    for field, value in changes.items():
        setattr(vehicle, field, value)
    return _save(vehicle)


# Apps that refer to vehicles say why one may not be removed right now (bookings: live
# bookings). Each check returns a message, or None when it has no objection.
RemovalCheck = Callable[[Vehicle], str | None]
_removal_checks: list[RemovalCheck] = []


def vehicle_add_removal_check(check: RemovalCheck) -> None:
    if check not in _removal_checks:
        _removal_checks.append(check)


def vehicle_deactivate(*, vehicle: Vehicle) -> Vehicle:
    """Keeps the row (bookings refer to it) but hides it from the driver."""
    for check in _removal_checks:
        if (why := check(vehicle)) is not None:
            raise Conflict(why, fields={"vehicle": [why]})
    vehicle.is_active = False
    vehicle.save(update_fields=["is_active"])
    return vehicle
