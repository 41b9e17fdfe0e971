"""Who may call which part of the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

from parkme.tenancy import device_account

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views loads
    from rest_framework.request import Request
    from rest_framework.views import APIView


def is_device_account(user: object) -> bool:
    flag = getattr(user, "is_device_account", None)
    if flag is None:  # a user not loaded by ParkMeJWTAuthentication (e.g. a session)
        from parkme.models import User

        pk = getattr(user, "pk", None)
        flag = (
            pk is not None
            and User.objects.filter(pk=pk).annotate(d=device_account()).filter(d=True).exists()
        )
    return bool(flag)


class DriverOrStaff(BasePermission):
    """Drivers and staff use the driver endpoints; a gate-device account gets 403."""

    message = "Gate-device accounts may only use the operator gate API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and not is_device_account(user))
