from __future__ import annotations

from django.db.models import QuerySet

from parkme.errors import NotFound
from parkme.models import User
from vehicles.models import Vehicle


def vehicle_list(*, owner: User) -> QuerySet[Vehicle]:
    return Vehicle.objects.for_owner(owner).active().order_by("-created_at", "-id")


def vehicle_get(*, owner: User, vehicle_id: int) -> Vehicle:
    vehicle = vehicle_list(owner=owner).filter(pk=vehicle_id).first()
    if vehicle is None:
        raise NotFound("No vehicle with this id.")
    return vehicle
