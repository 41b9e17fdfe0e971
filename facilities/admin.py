"""Facilities, zones, spots and rate boards for operator staff.

Admins manage their operator's rows, rate boards included; attendants view facilities,
zones, spots, rate boards (and the dashboard). Spots are created in bulk from a zone and put
into or out of maintenance in bulk, through facilities.services (which keeps the
availability cache right).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from facilities.boards import bands_problems, day_problems, rate_version_compile
from facilities.models import (
    EarlyBird,
    Facility,
    KindAdjustment,
    RateBand,
    RateVersion,
    SpecialDay,
    SpecialDayBand,
    Spot,
    SpotKind,
    Zone,
)
from facilities.services import (
    MAX_SPOTS_PER_RUN,
    rate_version_preview,
    spot_bulk_create,
    spot_set_maintenance,
)
from parkme.admin_tenancy import TenantScopedAdmin, TenantScopedInline
from parkme.errors import ValidationFailed


class ZoneInline(TenantScopedInline, admin.TabularInline):
    model = Zone
    operator_path = "facility__operator"
    extra = 0
    fields = ["name", "level"]
    show_change_link = True


@admin.register(Facility)
class FacilityAdmin(TenantScopedAdmin):
    operator_path = "operator"
    preset_operator = True
    list_display = ["name", "operator", "timezone", "is_active"]
    list_filter = ["is_active", ("operator", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["operator"]
    search_fields = ["name", "slug", "address"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ZoneInline]


class BulkSpotsForm(forms.Form):
    prefix = forms.CharField(
        max_length=24, required=False, help_text="Text before the number, e.g. “P1-S”."
    )
    first = forms.IntegerField(min_value=0, initial=1)
    last = forms.IntegerField(min_value=0, help_text=f"At most {MAX_SPOTS_PER_RUN} at once.")
    width = forms.IntegerField(
        min_value=0,
        max_value=8,
        initial=3,
        label="Digits",
        help_text="Zero-pad numbers to this many digits (3 → 001).",
    )
    kind = forms.ChoiceField(choices=SpotKind.choices, initial=SpotKind.STANDARD)


@admin.register(Zone)
class ZoneAdmin(TenantScopedAdmin):
    operator_path = "facility__operator"
    list_display = ["name", "facility", "level", "add_spots_link"]
    list_filter = [("facility", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["facility"]
    search_fields = ["name", "facility__name"]

    @admin.display(description="Spots")
    def add_spots_link(self, obj: Zone) -> str:
        spots = reverse("admin:facilities_spot_changelist") + f"?zone__id__exact={obj.pk}"
        return format_html('<a href="{}">View spots</a>', spots)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/add-spots/",
                self.admin_site.admin_view(self.add_spots_view),
                name="facilities_zone_add_spots",
            ),
            *super().get_urls(),
        ]

    def may_add_spots(self, request, zone: Zone | None) -> bool:
        spot_admin = self.admin_site.get_model_admin(Spot)
        return spot_admin.has_add_permission(request) and self.may_write(request, zone)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_add_spots"] = obj is not None and self.may_add_spots(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def add_spots_view(self, request, object_id):
        zone = self.get_object(request, unquote(object_id))
        if zone is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.may_add_spots(request, zone):
            raise PermissionDenied
        form = BulkSpotsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                spots = spot_bulk_create(zone=zone, **form.cleaned_data)
            except ValidationFailed as exc:
                for field, problems in exc.fields.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                message = f"Added {len(spots)} {form.cleaned_data['kind']} spots " + (
                    f"{spots[0].code}…{spots[-1].code}" if len(spots) > 1 else spots[0].code
                )
                self.log_change(request, zone, message)
                LogEntry.objects.log_actions(
                    user_id=request.user.pk,
                    queryset=Spot.objects.filter(pk__in=[s.pk for s in spots]),
                    action_flag=ADDITION,
                    change_message=f"Added in bulk to zone {zone.name}",
                )
                self.message_user(request, message + ".", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:facilities_spot_changelist") + f"?zone__id__exact={zone.pk}"
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": zone,
            "zone": zone,
            "form": form,
            "title": f"Add spots to {zone}",
        }
        return TemplateResponse(request, "admin/facilities/zone/add_spots.html", context)


class SpotForm(forms.ModelForm):
    """The facility follows the zone; the (facility, code) rule is checked here because
    the form has no facility field for Django to validate it against."""

    class Meta:
        model = Spot
        fields = ["zone", "code", "kind", "status", "is_active"]

    def clean(self):
        cleaned = super().clean()
        zone, code = cleaned.get("zone"), cleaned.get("code")
        if zone is None:
            return cleaned
        if self.instance.pk and zone.facility_id != self.instance.facility_id:
            self.add_error("zone", "A spot cannot move to another facility; add one there.")
            return cleaned
        self.instance.facility_id = zone.facility_id
        taken = Spot.objects.filter(facility_id=zone.facility_id, code=code)
        if code and taken.exclude(pk=self.instance.pk).exists():
            self.add_error("code", "Another spot of this facility has this code.")
        return cleaned


@admin.register(Spot)
class SpotAdmin(TenantScopedAdmin):
    operator_path = "facility__operator"
    form = SpotForm
    list_display = ["code", "facility", "zone_name", "kind", "status", "is_active"]
    list_filter = [
        "kind",
        "status",
        "is_active",
        ("facility", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["facility", "zone"]
    list_per_page = 200
    search_fields = ["code"]
    actions = ["put_into_maintenance", "return_to_service"]

    @admin.display(description="Zone", ordering="zone__name")
    def zone_name(self, obj: Spot) -> str:
        return obj.zone.name

    def _set_maintenance(self, request, queryset, *, in_maintenance: bool) -> None:
        writable = self.scope(request, queryset, self.write_roles)
        spots = list(writable.exclude(status="maintenance" if in_maintenance else "available"))
        changed = spot_set_maintenance(spots=writable, in_maintenance=in_maintenance)
        what = "Put into maintenance" if in_maintenance else "Returned to service"
        for spot in spots:
            self.log_change(request, spot, what)
        self.message_user(request, f"{what}: {changed} spot(s).", messages.SUCCESS)

    @admin.action(description="Put selected spots into maintenance", permissions=["change"])
    def put_into_maintenance(self, request, queryset):
        self._set_maintenance(request, queryset, in_maintenance=True)

    @admin.action(description="Return selected spots to service", permissions=["change"])
    def return_to_service(self, request, queryset):
        self._set_maintenance(request, queryset, in_maintenance=False)


# --- rate tables -------------------------------------------------------------------------


class PricePreviewForm(forms.Form):
    starts = forms.DateTimeField(
        label="Enter (local)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends = forms.DateTimeField(
        label="Leave (local)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    kind = forms.ChoiceField(
        choices=[("", "any (standard)"), *SpotKind.choices], required=False, label="Spot kind"
    )


class BandsFormSet(forms.BaseInlineFormSet):
    """A version's weekday bands must price every minute of the week exactly once."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = bands_problems([(d["weekday"], d["starts"], d.get("ends")) for d in kept])
        if problems:
            raise forms.ValidationError(problems)


class SpecialDayBandsFormSet(forms.BaseInlineFormSet):
    """A special day without a flat price is priced by its bands: they cover its day."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or self.instance.flat_price is not None:
            return
        kept = [
            (form.cleaned_data["starts"], form.cleaned_data.get("ends"))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = day_problems(kept, self.instance.label or "The special day")
        if problems:
            raise forms.ValidationError(problems)


class _RateRuleInline(TenantScopedInline):
    operator_path = "version__facility__operator"
    extra = 0


class RateBandInline(_RateRuleInline, admin.TabularInline):
    model = RateBand
    formset = BandsFormSet
    fields = ["weekday", "starts", "ends", "unit_minutes", "unit_price", "label"]


class EarlyBirdInline(_RateRuleInline, admin.TabularInline):
    model = EarlyBird
    fields = [
        "label",
        "enter_from",
        "enter_until",
        "leave_from",
        "leave_until",
        "price",
        "weekdays",
    ]


class KindAdjustmentInline(_RateRuleInline, admin.TabularInline):
    model = KindAdjustment
    fields = ["kind", "per_hour", "percent"]


class SpecialDayInline(_RateRuleInline, admin.TabularInline):
    model = SpecialDay
    fields = ["label", "first_day", "last_day", "flat_price"]
    show_change_link = True  # its own bands are edited on the special day's page


@admin.register(RateVersion)
class RateVersionAdmin(TenantScopedAdmin):
    """Operator admins edit their rate boards; attendants read them."""

    operator_path = "facility__operator"
    # "Save as new" copies a board, rules included: the usual way to schedule new prices.
    save_as = True
    list_display = ["facility", "label", "valid_from", "valid_to", "currency", "vat_percent"]
    list_filter = [("facility", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["facility"]
    search_fields = ["facility__name", "label"]
    date_hierarchy = "valid_from"
    fieldsets = [
        (None, {"fields": ["facility", "label", "valid_from", "valid_to"]}),
        ("Money", {"fields": ["currency", "vat_percent", "minimum_charge", "daily_max"]}),
        ("Overnight maximum", {"fields": ["overnight_starts", "overnight_ends", "overnight_max"]}),
        (
            "Grace and cancellation",
            {
                "fields": [
                    "grace_minutes",
                    "cancel_free_hours",
                    "cancel_fee_percent",
                    "cancel_fee_fixed",
                ]
            },
        ),
    ]
    inlines = [RateBandInline, EarlyBirdInline, SpecialDayInline, KindAdjustmentInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Bulk inline changes send their own signals; compile once more from the final rows.
        rate_version_compile(version_id=form.instance.pk)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="facilities_rateversion_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """Staff check a board before it takes effect: a window and a kind in, the
        itemised price out (by the same engine the API prices with)."""
        version = self.get_object(request, unquote(object_id))
        if version is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        form = PricePreviewForm(request.GET or None)
        price = None
        if form.is_valid():
            try:
                price = rate_version_preview(
                    version=version,
                    starts_local=form.cleaned_data["starts"],
                    ends_local=form.cleaned_data["ends"],
                    kind=form.cleaned_data["kind"] or None,
                )
            except ValidationFailed as exc:
                form.add_error(None, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "version": version,
            "form": form,
            "price": price,
            "title": f"Price preview: {version}",
        }
        response = TemplateResponse(request, "admin/facilities/rateversion/preview.html", context)
        with timezone.override(version.facility.tz):  # lines read in the facility's time
            return response.render()


@admin.register(SpecialDay)
class SpecialDayAdmin(TenantScopedAdmin):
    operator_path = "version__facility__operator"
    list_display = ["label", "version", "first_day", "last_day", "flat_price"]
    list_select_related = ["version__facility"]
    inlines = []

    def get_inlines(self, request, obj):
        return [SpecialDayBandInline]

    def has_module_permission(self, request):
        return False  # reached from its rate version's page


class SpecialDayBandInline(TenantScopedInline, admin.TabularInline):
    model = SpecialDayBand
    formset = SpecialDayBandsFormSet
    operator_path = "special_day__version__facility__operator"
    extra = 0
    fields = ["starts", "ends", "unit_minutes", "unit_price", "label"]
