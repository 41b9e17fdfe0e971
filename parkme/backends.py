"""Authentication backends."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class AdminLoginGuard(AxesStandaloneBackend):
    """django-axes' lockout check, which guards the admin login (AXES_ONLY_ADMIN_SITE).
    A credentials check made without a request (a management command, a script) is no
    login attempt through a site, so it has nothing to lock and passes through."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
