from django.contrib import admin

from bookings.models import Booking, BookingEvent, Notification


class BookingEventInline(admin.TabularInline):
    model = BookingEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "actor_kind", "at", "reason"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["reference", "facility", "spot", "starts_at", "ends_at", "status", "price"]
    list_filter = ["status", "facility"]
    list_select_related = ["facility", "spot"]
    search_fields = ["reference"]
    raw_id_fields = ["driver", "vehicle", "spot", "facility"]
    inlines = [BookingEventInline]


@admin.register(BookingEvent)
class BookingEventAdmin(admin.ModelAdmin):
    list_display = ["booking", "from_status", "to_status", "actor_kind", "at"]
    raw_id_fields = ["booking", "actor"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["booking", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["booking"]
