"""Whose rows a staff member or a device may see: the one home of tenant scoping.

A user reaches an operator's rows only through a Membership in that operator with one of
the roles the caller asks for. Every reader scopes through here: the admin (per role:
attendants read what admins write), the gate and entitlement checks (devices), reports and
anything new. Querysets of operator-owned models inherit ``TenantQuerySet`` and name their
``operator_path``; a lookup in another tenant then finds nothing, exactly like a missing row.
Superusers (ops) see every operator.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.db import models

from parkme.models import Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from parkme.models import User

STAFF_ROLES: frozenset[str] = frozenset({Role.ADMIN, Role.ATTENDANT})
ADMIN_ROLES: frozenset[str] = frozenset({Role.ADMIN})
DEVICE_ROLES: frozenset[str] = frozenset({Role.DEVICE})

_M = TypeVar("_M", bound=models.Model)


def roles_by_operator(user: User | AnonymousUser) -> dict[int, str]:
    """Operator id → the user's role there (one query)."""
    if not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user_id=user.pk).values_list("operator_id", "role"))


def operator_ids(
    user: User | AnonymousUser,
    roles: Collection[str],
    *,
    memberships: dict[int, str] | None = None,
    superuser_sees_all: bool = True,
) -> list[int] | None:
    """Operators where the user holds one of ``roles``; None means every operator
    (a superuser, unless ``superuser_sees_all`` is off: a gate answers only its operator's
    devices). ``memberships`` lets a caller that already read them (the admin, once per
    request) skip the query."""
    if superuser_sees_all and user.is_authenticated and user.is_superuser:
        return None
    held = roles_by_operator(user) if memberships is None else memberships
    return sorted(operator for operator, role in held.items() if role in roles)


def scope(
    queryset: models.QuerySet[_M],
    user: User | AnonymousUser,
    *,
    roles: Collection[str],
    operator_path: str,
    memberships: dict[int, str] | None = None,
    superuser_sees_all: bool = True,
) -> models.QuerySet[_M]:
    """Rows of ``queryset`` whose operator (reached through ``operator_path``) the user
    holds one of ``roles`` in."""
    ids = operator_ids(user, roles, memberships=memberships, superuser_sees_all=superuser_sees_all)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{operator_path}__in": ids})


class TenantQuerySet(models.QuerySet[_M]):
    """Base queryset of a model that belongs to one operator."""

    operator_path: ClassVar[str] = "operator"

    def for_operator(self, operator: Any) -> TenantQuerySet[_M]:
        return self.filter(**{self.operator_path: operator})

    def for_staff(
        self,
        user: User | AnonymousUser,
        *,
        roles: Collection[str] = STAFF_ROLES,
        superuser_sees_all: bool = True,
    ) -> TenantQuerySet[_M]:
        return scope(  # type: ignore[return-value]
            self,
            user,
            roles=roles,
            operator_path=self.operator_path,
            superuser_sees_all=superuser_sees_all,
        )


def device_account() -> models.Q:
    """A user annotation: True for a gate-device account (a device in some operator, staff
    in none, not ops). Device accounts use the gate API only."""
    from django.db.models import Exists, OuterRef, Q

    memberships = Membership.objects.filter(user=OuterRef("pk"))
    return (
        Exists(memberships.filter(role__in=DEVICE_ROLES))
        & ~Exists(memberships.filter(role__in=STAFF_ROLES))
        & Q(is_superuser=False)
    )
