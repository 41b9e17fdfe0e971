"""Tenant scoping for the staff admin (a staff user never reads or writes another operator's rows).

Every ModelAdmin and inline of an operator-owned model mixes in `TenantScopedAdmin` or
`TenantScopedInline` and names `operator_path`, the lookup from its model to the operator.
Model-level permissions come from the staff groups (parkme/migrations/0002_staff_groups.py);
this module narrows them per operator and per role:

- rows are visible only in operators where the user holds one of `view_roles`;
- add/change/delete need one of `write_roles` in the row's operator (a user may be admin of
  one operator and attendant of another, and group permissions alone cannot tell them apart);
- foreign-key choices (and so forged POSTs), autocomplete, search, filters and actions all
  start from the scoped querysets, so another operator's row answers like a missing one.

Superusers see everything.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Callable, Collection, Iterator
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from parkme import tenancy
from parkme.tenancy import ADMIN_ROLES, STAFF_ROLES


def staff_roles(request: HttpRequest) -> dict[int, str]:
    """Operator id → the current user's role there; one query per request."""
    cached = getattr(request, "_parkme_staff_roles", None)
    if cached is None:
        cached = tenancy.roles_by_operator(request.user)
        request._parkme_staff_roles = cached  # type: ignore[attr-defined]
    return cached


def operator_ids(request: HttpRequest, roles: Collection[str]) -> list[int] | None:
    """Operators where the user holds one of `roles`; None means every operator (superuser)."""
    return tenancy.operator_ids(request.user, roles, memberships=staff_roles(request))


def scope_queryset(
    request: HttpRequest, queryset: models.QuerySet, *, operator_path: str, roles: Collection[str]
) -> models.QuerySet:
    return tenancy.scope(
        queryset,
        request.user,
        roles=roles,
        operator_path=operator_path,
        memberships=staff_roles(request),
    )


# Which time zones the facilities of some operators are in. Core knows no facilities: the
# facilities app installs the look-up when it starts (facilities.apps).
TimezonesOf = Callable[[list[int] | None], list[str]]
_timezones_of: TimezonesOf = lambda operator_ids: []  # noqa: E731


def set_timezone_source(source: TimezonesOf) -> None:
    global _timezones_of
    _timezones_of = source


def staff_timezones(request: HttpRequest) -> list[str]:
    """Distinct time zones of the facilities the user works in; one query per request."""
    cached = getattr(request, "_parkme_staff_timezones", None)
    if cached is None:
        cached = _timezones_of(operator_ids(request, STAFF_ROLES))
        request._parkme_staff_timezones = cached  # type: ignore[attr-defined]
    return cached


@contextlib.contextmanager
def local_time_for_staff(request: HttpRequest) -> Iterator[None]:
    """Admin pages read in the facilities' own time when they all share one (the usual
    operator); with several zones, pages that know a row's facility convert themselves."""
    zones = staff_timezones(request)
    if len(zones) == 1:
        with timezone.override(zoneinfo.ZoneInfo(zones[0])):
            yield
    else:
        yield


def operator_id_of(obj: models.Model, operator_path: str) -> int | None:
    """Follow `operator_path` (e.g. "facility__operator") on an instance to the operator id."""
    *hops, last = operator_path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
        if obj is None:
            return None
    if last == "pk":
        return obj.pk
    return getattr(obj, f"{last}_id")


class _TenantScoping:
    operator_path: str = ""
    view_roles: frozenset[str] = STAFF_ROLES
    write_roles: frozenset[str] = ADMIN_ROLES

    @property
    def visible_roles(self) -> frozenset[str]:
        return self.view_roles | self.write_roles

    def _may(self, request: HttpRequest, operator_id: int | None, roles: Collection[str]) -> bool:
        ids = operator_ids(request, roles)
        if ids is None:
            return True
        if operator_id is None:  # no particular row: does the user write anywhere?
            return bool(ids)
        return operator_id in ids

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices come from the target model's admin scope with *our* write roles: an
        # attendant of B who administers A may only point rows at A's objects.
        if "queryset" not in kwargs and not request.user.is_superuser:
            related = db_field.remote_field.model
            target_path = getattr(self.admin_site._registry.get(related), "operator_path", "")
            base = related._default_manager.all()
            kwargs["queryset"] = (
                scope_queryset(request, base, operator_path=target_path, roles=self.write_roles)
                if target_path
                else base.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs and not request.user.is_superuser:
            kwargs["queryset"] = db_field.remote_field.model._default_manager.none()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantScopedAdmin(_TenantScoping, admin.ModelAdmin):
    """A ModelAdmin of rows that belong to one operator."""

    # With a direct ``operator`` field: the add form starts on the user's operator when they
    # write in exactly one.
    preset_operator: bool = False

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if self.preset_operator:
            writable = operator_ids(request, self.write_roles)
            if writable is not None and len(writable) == 1:
                initial.setdefault("operator", writable[0])
        return initial

    def scope(self, request: HttpRequest, queryset: models.QuerySet, roles) -> models.QuerySet:
        return scope_queryset(request, queryset, operator_path=self.operator_path, roles=roles)

    def operator_of(self, obj: models.Model) -> int | None:
        return operator_id_of(obj, self.operator_path)

    def may_write(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self._may(request, None if obj is None else self.operator_of(obj), self.write_roles)

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request), self.visible_roles)

    def get_search_results(self, request, queryset, search_term):
        # Autocomplete calls this directly: scope again so no caller can bypass it.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return self.scope(request, queryset, self.visible_roles), may_have_duplicates

    def has_view_permission(self, request, obj=None):
        operator_id = None if obj is None else self.operator_of(obj)
        return super().has_view_permission(request, obj) and self._may(
            request, operator_id, self.visible_roles
        )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self.may_write(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.may_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.may_write(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, self.scope(request, queryset, self.write_roles))

    def _rendered_in_local_time(self, request, view, *args, **kwargs):
        with local_time_for_staff(request):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):  # TemplateResponse renders lazily: do it now
                response.render()
        return response

    def changelist_view(self, request, extra_context=None):
        return self._rendered_in_local_time(request, super().changelist_view, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._rendered_in_local_time(
            request, super().changeform_view, object_id, form_url, extra_context
        )

    def history_view(self, request, object_id, extra_context=None):
        return self._rendered_in_local_time(request, super().history_view, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        # Forms already refuse other operators' choices; this is the last line if one slips.
        if not self.may_write(request, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class TenantScopedInline(_TenantScoping):
    """Mix into an InlineModelAdmin; `obj` in its permission checks is the parent row."""

    def _parent_operator(self, obj: models.Model | None) -> int | None:
        if obj is None:
            return None
        parent_admin = self.admin_site._registry[self.parent_model]
        return operator_id_of(obj, parent_admin.operator_path)

    def get_queryset(self, request):
        return scope_queryset(
            request,
            super().get_queryset(request),
            operator_path=self.operator_path,
            roles=self.visible_roles,
        )

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._may(
            request, self._parent_operator(obj), self.visible_roles
        )

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and self._may(
            request, self._parent_operator(obj), self.write_roles
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may(
            request, self._parent_operator(obj), self.write_roles
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may(
            request, self._parent_operator(obj), self.write_roles
        )


class ReadOnlyAdmin(TenantScopedAdmin):
    """An operator's audit trail (events, notifications, plate look-ups): staff may read
    it; nobody adds, edits or deletes it in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Platform-wide models (users, operators, vehicles): ops only."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args: Any):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
