from django.contrib import admin

from vehicles.models import Vehicle


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["plate", "plate_normalized", "owner", "kind", "is_ev", "is_active"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["owner"]
    readonly_fields = ["plate_normalized"]
    raw_id_fields = ["owner"]
