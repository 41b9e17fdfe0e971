from django.contrib import admin

from facilities.models import Facility, RatePlan, Spot, Zone


class ZoneInline(admin.TabularInline):
    model = Zone
    extra = 0


class RatePlanInline(admin.TabularInline):
    model = RatePlan
    extra = 0


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ["name", "operator", "timezone", "is_active"]
    list_filter = ["is_active", "operator"]
    list_select_related = ["operator"]
    search_fields = ["name", "slug", "address"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ZoneInline, RatePlanInline]


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["name", "facility", "level"]
    list_select_related = ["facility"]
    search_fields = ["name", "facility__name"]


@admin.register(Spot)
class SpotAdmin(admin.ModelAdmin):
    list_display = ["code", "facility", "zone", "kind", "status", "is_active"]
    list_filter = ["kind", "status", "is_active"]
    list_select_related = ["facility", "zone"]
    search_fields = ["code"]


@admin.register(RatePlan)
class RatePlanAdmin(admin.ModelAdmin):
    list_display = [
        "facility",
        "currency",
        "hourly_rate",
        "daily_max",
        "grace_minutes",
        "is_active",
    ]
    list_select_related = ["facility"]
