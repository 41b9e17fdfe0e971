"""Bookings for facility staff: a busy day's list, and check in / check out / cancel.

Booking pages are read-only: every change goes through bookings.services, exactly like the
API and gate devices, so the rules, BookingEvents and driver notifications are the same.
Times are shown in each facility's own time zone.
"""

import csv
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html

from bookings.dashboard import dashboard_context
from bookings.models import Booking, BookingEvent, Notification
from bookings.services import booking_cancel, booking_check_in, booking_check_out
from bookings.states import ActorKind, BookingStatus
from facilities.admin import FacilityAdmin
from facilities.models import Facility
from parkme.admin_tenancy import (
    ReadOnlyAdmin,
    TenantScopedAdmin,
    TenantScopedInline,
    operator_ids,
    staff_timezones,
)
from parkme.errors import ParkMeError
from parkme.tenancy import STAFF_ROLES
from vehicles.models import PlateLookup
from vehicles.plates import normalize_plate

PLATE_LOOKUP_CONTEXT = "admin:booking-search"


class Done:
    """What an admin action did, in the staff's messages and the admin history."""

    CHECKED_IN = "checked in"
    CHECKED_OUT = "checked out"
    CANCELLED = BookingStatus.CANCELLED.label.lower()


def local(value: datetime | None, facility: Facility) -> str:
    if value is None:
        return "–"
    return value.astimezone(facility.tz).strftime("%Y-%m-%d %H:%M")


EXPORT_HEADER = [
    "reference",
    "facility",
    "spot",
    "starts (local)",
    "ends (local)",
    "time zone",
    "status",
    "price",
    "overstay fee",
    "currency",
]


def spreadsheet_safe(value) -> str:
    """Staff-typed names must not run as formulas when the CSV opens in a spreadsheet."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


class DayFilter(admin.SimpleListFilter):
    """Bookings overlapping a calendar day in each facility's own time zone.

    Also takes any ISO date: ?day=2025-03-30."""

    title = "day (facility time)"
    parameter_name = "day"
    OFFSETS = {"yesterday": -1, "today": 0, "tomorrow": 1}

    def lookups(self, request, model_admin):
        return [("yesterday", "Yesterday"), ("today", "Today"), ("tomorrow", "Tomorrow")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        explicit = None
        if value not in self.OFFSETS:
            try:
                explicit = parse_date(value)
            except ValueError:
                explicit = None
            if explicit is None:
                raise IncorrectLookupParameters(f"Not a day: {value!r}")
        now = timezone.now()
        matches = Q(pk__in=[])
        for tz_name in staff_timezones(request):
            tz = ZoneInfo(tz_name)
            day = explicit or now.astimezone(tz).date() + timedelta(days=self.OFFSETS[value])
            starts = datetime.combine(day, time.min, tzinfo=tz)
            ends = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
            matches |= Q(facility__timezone=tz_name, starts_at__lt=ends, ends_at__gt=starts)
        return queryset.filter(matches)


class AutoCheckedOutFilter(admin.SimpleListFilter):
    """Bookings the auto check-out sweep closed (no exit long after the end): staff review
    them, since nobody saw the car leave."""

    title = "auto checked-out"
    parameter_name = "auto_checked_out"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "yes":
            return queryset.filter(auto_checked_out_at__isnull=False)
        if value == "no":
            return queryset.filter(auto_checked_out_at__isnull=True)
        return queryset


class BookingActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        max_length=200,
        label="Reason",
        widget=forms.TextInput(attrs={"placeholder": "Reason (needed to cancel)", "size": 28}),
    )


class BookingEventInline(TenantScopedInline, admin.TabularInline):
    model = BookingEvent
    operator_path = "booking__facility__operator"
    extra = 0
    can_delete = False
    fields = ["local_at", "from_status", "to_status", "actor", "actor_kind", "reason"]
    readonly_fields = fields
    verbose_name_plural = "History (state changes)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "booking__facility")

    @admin.display(description="At (facility time)")
    def local_at(self, obj: BookingEvent) -> str:
        return local(obj.at, obj.booking.facility)

    def has_add_permission(self, request, obj):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(TenantScopedAdmin):
    operator_path = "facility__operator"
    # Attendants and admins both act on bookings (change_booking = "may act").
    write_roles = STAFF_ROLES
    list_display = [
        "reference",
        "facility",
        "spot",
        "starts",
        "ends",
        "status",
        "plate",
        "driver_email",
    ]
    list_filter = [
        "status",
        DayFilter,
        AutoCheckedOutFilter,
        ("facility", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["facility", "spot", "vehicle", "driver"]
    list_per_page = 100
    show_full_result_count = False
    ordering = ["starts_at", "id"]
    search_fields = ["reference"]
    search_help_text = "Reference, licence plate or driver e-mail. Plate searches are recorded."
    action_form = BookingActionForm
    actions = ["check_in", "check_out", "cancel", "export_csv"]
    inlines = [BookingEventInline]
    fieldsets = [
        (None, {"fields": ["reference", "status", "facility", "spot", "spot_kind"]}),
        (
            "When (facility time)",
            {"fields": ["starts", "ends", "checked_in", "checked_out", "auto_checked_out"]},
        ),
        ("Who", {"fields": ["driver_email", "plate"]}),
        ("Money", {"fields": ["price", "overstay_fee", "currency"]}),
    ]
    readonly_fields = [
        "reference",
        "status",
        "facility",
        "spot",
        "spot_kind",
        "starts",
        "ends",
        "checked_in",
        "checked_out",
        "auto_checked_out",
        "driver_email",
        "plate",
        "price",
        "overstay_fee",
        "currency",
    ]

    @admin.display(description="Starts", ordering="starts_at")
    def starts(self, obj: Booking) -> str:
        return local(obj.starts_at, obj.facility)

    @admin.display(description="Ends", ordering="ends_at")
    def ends(self, obj: Booking) -> str:
        return local(obj.ends_at, obj.facility)

    @admin.display(description="Checked in")
    def checked_in(self, obj: Booking) -> str:
        return local(obj.checked_in_at, obj.facility)

    @admin.display(description="Checked out")
    def checked_out(self, obj: Booking) -> str:
        return local(obj.checked_out_at, obj.facility)

    @admin.display(description="Auto checked-out (for review)")
    def auto_checked_out(self, obj: Booking) -> str:
        """When the sweep closed it; its check-out time is the deadline it was charged to."""
        return local(obj.auto_checked_out_at, obj.facility)

    @admin.display(description="Plate")
    def plate(self, obj: Booking) -> str:
        return obj.vehicle.plate if obj.vehicle else "–"

    @admin.display(description="Driver")
    def driver_email(self, obj: Booking) -> str:
        return obj.driver.email if obj.driver else "–"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q(reference__iexact=term)
        if "@" in term:
            matches |= Q(driver__email__iexact=term)
        elif plate := normalize_plate(term):
            matches |= Q(vehicle__plate_normalized=plate)
            self.record_plate_lookup(request, term)
        return self.scope(request, queryset.filter(matches), self.visible_roles), False

    def record_plate_lookup(self, request, term: str) -> None:
        """Every staff look-up by plate is recorded, per operator searched."""
        ids = operator_ids(request, self.visible_roles)
        PlateLookup.objects.bulk_create(
            [
                PlateLookup(
                    staff=request.user,
                    operator_id=op,
                    query=term[:64],
                    context=PLATE_LOOKUP_CONTEXT,
                )
                for op in (ids if ids is not None else [None])
            ]
        )

    def has_add_permission(self, request):
        return False  # drivers book through the API

    def has_change_permission(self, request, obj=None):
        # The page of one booking is read-only; "change" on the list means "may act".
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def _act(self, request, queryset, service, done: str, **kwargs) -> None:
        ok, refused = [], []
        for booking in queryset.select_related(None).order_by("starts_at", "id"):
            try:
                service(booking=booking, actor=request.user, actor_kind=ActorKind.STAFF, **kwargs)
            except ParkMeError as exc:
                refused.append(f"{booking.reference}: {exc.message}")
            else:
                ok.append(booking.reference)
                reason = kwargs.get("reason")
                self.log_change(request, booking, done + (f": {reason}" if reason else ""))
        if ok:
            self.message_user(request, f"{done.capitalize()}: {', '.join(ok)}.", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, problem, messages.ERROR)

    @admin.action(description="Check in selected bookings", permissions=["change"])
    def check_in(self, request, queryset):
        self._act(request, queryset, booking_check_in, Done.CHECKED_IN)

    @admin.action(description="Check out selected bookings", permissions=["change"])
    def check_out(self, request, queryset):
        self._act(request, queryset, booking_check_out, Done.CHECKED_OUT)

    @admin.action(description="Cancel selected bookings (give a reason)", permissions=["change"])
    def cancel(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(
                request, "Give a reason to cancel: the driver is told.", messages.ERROR
            )
            return
        self._act(request, queryset, booking_cancel, Done.CANCELLED, reason=reason[:200])

    @admin.action(description="Export selected bookings as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        """Operational columns only: plates and driver links (personal data) stay in ParkMe."""
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="bookings.csv"'
        writer = csv.writer(response)
        writer.writerow(EXPORT_HEADER)
        rows = queryset.select_related("facility", "spot").order_by("starts_at", "id")
        for b in rows:
            writer.writerow(
                [
                    spreadsheet_safe(cell)
                    for cell in (
                        b.reference,
                        b.facility.name,
                        b.spot.code,
                        local(b.starts_at, b.facility),
                        local(b.ends_at, b.facility),
                        b.facility.timezone,
                        b.status,
                        b.price,
                        b.overstay_fee,
                        b.currency,
                    )
                ]
            )
        return response


@admin.register(BookingEvent)
class BookingEventAdmin(ReadOnlyAdmin):
    operator_path = "booking__facility__operator"
    list_display = ["booking", "from_status", "to_status", "actor_kind", "at"]
    list_filter = ["to_status", "actor_kind"]
    list_select_related = ["booking"]
    search_fields = ["booking__reference"]
    readonly_fields = ["booking", "from_status", "to_status", "actor", "actor_kind", "at", "reason"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    operator_path = "booking__facility__operator"
    list_display = ["booking", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["booking"]
    search_fields = ["booking__reference"]
    readonly_fields = [
        "booking",
        "kind",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]


class FacilityWithDashboardAdmin(FacilityAdmin):
    """The facility admin with its occupancy dashboard: facilities know nothing of
    bookings, so the page that shows them is added here."""

    list_display = [*FacilityAdmin.list_display, "dashboard_link"]

    @admin.display(description="Occupancy")
    def dashboard_link(self, obj: Facility) -> str:
        url = reverse("admin:facilities_facility_dashboard", args=[obj.pk])
        return format_html('<a href="{}">Dashboard</a>', url)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="facilities_facility_dashboard",
            ),
            *super().get_urls(),
        ]

    def dashboard_view(self, request, object_id):
        facility = self.get_object(request, unquote(object_id))
        if facility is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, facility):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            **dashboard_context(facility=facility, now=timezone.now()),
            "opts": self.opts,
            "title": f"{facility.name}: occupancy",
        }
        return TemplateResponse(request, "admin/facilities/facility/dashboard.html", context)


admin.site.unregister(Facility)
admin.site.register(Facility, FacilityWithDashboardAdmin)

from bookings import admin_permits  # noqa: E402,F401 - permits register their admin pages
