"""Vehicles belong to drivers, not operators: only ops see them here. Staff find a car
through its bookings (a plate search there is recorded); operator admins can read the
record of their staff's plate look-ups."""

from django.contrib import admin

from parkme.admin_tenancy import ReadOnlyAdmin, SuperuserOnlyAdmin
from parkme.tenancy import ADMIN_ROLES
from vehicles.models import PlateLookup, Vehicle


@admin.register(Vehicle)
class VehicleAdmin(SuperuserOnlyAdmin):
    list_display = ["plate", "plate_normalized", "owner", "kind", "is_ev", "is_active"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["owner"]
    readonly_fields = ["plate_normalized"]
    raw_id_fields = ["owner"]


@admin.register(PlateLookup)
class PlateLookupAdmin(ReadOnlyAdmin):
    operator_path = "operator"
    view_roles = ADMIN_ROLES
    list_display = ["at", "staff", "operator", "query", "context"]
    list_filter = ["context"]
    list_select_related = ["staff", "operator"]
    search_fields = ["query", "staff__email"]
    date_hierarchy = "at"
    readonly_fields = ["at", "staff", "operator", "query", "context"]
