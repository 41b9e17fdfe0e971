"""Permits for operator staff: products (with their hours and allocations) and permits.

Who may do what (narrowed per operator by parkme.admin_tenancy, granted per role by
bookings/migrations/0007_permit_permissions.py):

- operator admins edit products and their hours, issue permits (for a driver account or a
  company fleet), change a permit's plates, and suspend or reactivate permits;
- attendants read products, permits and their history. Suspending a permit shuts its
  holder out at the gate for as long as it lasts, a commercial decision like a price: it
  stays with admins, and so does issuing (it sells a period).

Every write goes through the services in bookings.permits, exactly like the API: the sales
cap, the plate rules, PermitEvents and notices are the same. A refusal by a service (sold
out, a plate already on a permit, an allocation the facility cannot honour, a move the
permit's state forbids) comes back as an error on the form or as a message, never a 500,
and nothing is saved.

How a refusal reaches the form: the admin saves inside one transaction; the service raises
after rows were written, so the save raises ``_Refused``, the transaction rolls back, and
the same POST is validated once more with the service's errors added to the form, which
then renders like any invalid form. The allocation check therefore runs on the real rows
under the real advisory lock (no check-then-act gap), and nothing half-saved survives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from bookings.models import Permit, PermitEvent, PermitHours, PermitProduct
from bookings.permit_hours import hours_of, hours_text
from bookings.permits import (
    PermitOrder,
    permit_allocation_check,
    permit_create,
    permit_plates_change,
    permit_reactivate,
    permit_suspend,
    plates_clean,
)
from bookings.states import ActorKind
from facilities.models import WEEKDAYS, Facility
from parkme.admin_tenancy import (
    TenantScopedAdmin,
    TenantScopedInline,
    operator_ids,
)
from parkme.errors import ParkMeError, ValidationFailed
from parkme.models import User
from parkme.tenancy import device_account
from vehicles.models import PlateLookup
from vehicles.plates import normalize_plate

PLATE_LOOKUP_CONTEXT = "admin:permit-search"
# What makes a product withhold spaces from bookings: a change to any of these (or to its
# hours) is checked against the facility's live bookings before it is kept.
ALLOCATION_FIELDS = frozenset({"allocated_spaces", "spot_kind", "facility"})


def local(value: datetime | None, facility: Facility) -> str:
    if value is None:
        return "–"
    return value.astimezone(facility.tz).strftime("%Y-%m-%d %H:%M")


# --- service refusals as form errors ------------------------------------------------------


class _Refused(Exception):
    """A service refused the save: carries its error out of the admin's transaction."""

    def __init__(self, error: ParkMeError) -> None:
        self.error = error
        super().__init__(error.message)


def refusal_errors(form: forms.BaseForm, error: ParkMeError) -> None:
    """Put a service error on a form: its message on top, its per-field details on the
    fields the form has (the rest on top too)."""
    form.add_error(None, error.message)
    for field, problems in error.fields.items():
        problems = problems if isinstance(problems, list) else [str(problems)]
        if field in form.fields and field in form.cleaned_data:
            form.add_error(field, problems)
        else:
            for problem in problems:
                form.add_error(None, problem)


class ServiceRefusalsOnForm:
    """Mix into a ModelAdmin whose save raises ``_Refused``: the POST is rolled back and
    answered with the form and the service's errors (see the module docstring)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            request._parkme_refusal = refused.error  # type: ignore[attr-defined]
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal: ParkMeError | None = getattr(request, "_parkme_refusal", None)
        if refusal is None:
            return form_class
        error: ParkMeError = refusal

        class RefusedForm(form_class):  # type: ignore[misc,valid-type]
            def clean(self) -> dict[str, Any] | None:
                cleaned = super().clean()
                refusal_errors(self, error)
                return cleaned

        RefusedForm.__name__ = form_class.__name__
        return RefusedForm


# --- products -----------------------------------------------------------------------------


class PermitHoursForm(forms.ModelForm):
    """Weekdays as checkboxes rather than the array field's "0,1,2" text."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="The days a period starts on.",
    )

    class Meta:
        model = PermitHours
        fields = ["weekdays", "starts", "ends"]
        help_texts = {"ends": "Not after the start: ends the next day (00:00–00:00 = all day)."}

    def clean_weekdays(self) -> list[int]:
        return sorted(set(self.cleaned_data["weekdays"]))


class PermitHoursInline(TenantScopedInline, admin.TabularInline):
    model = PermitHours
    form = PermitHoursForm
    operator_path = "product__facility__operator"
    extra = 0
    min_num = 1  # a product without hours would let nobody in and withhold nothing
    validate_min = True
    verbose_name = "valid hours (facility time)"
    verbose_name_plural = "Valid hours (facility time)"


class PermitProductForm(forms.ModelForm):
    """The (facility, name) rule is checked here when the facility is read-only (a product
    never moves: its permits were sold for that facility)."""

    class Meta:
        model = PermitProduct
        fields = [
            "facility",
            "name",
            "spot_kind",
            "on_sale",
            "monthly_price",
            "currency",
            "vat_percent",
            "allocated_spaces",
            "oversell_percent",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        name = cleaned.get("name")
        if name and "facility" not in self.fields and self.instance.facility_id:
            taken = PermitProduct.objects.filter(facility_id=self.instance.facility_id, name=name)
            if taken.exclude(pk=self.instance.pk).exists():
                self.add_error("name", "Another product of this facility has this name.")
        return cleaned


@admin.register(PermitProduct)
class PermitProductAdmin(ServiceRefusalsOnForm, TenantScopedAdmin):
    """Operator admins edit products; attendants read them. A change to a product's
    allocation, kind or hours is refused (form error, nothing saved) when the facility's
    live bookings plus the spaces allocated would ever need more spots than it has."""

    operator_path = "facility__operator"
    form = PermitProductForm
    list_display = [
        "name",
        "facility",
        "spot_kind",
        "hours",
        "allocated_spaces",
        "oversell_percent",
        "sales_cap",
        "monthly_price",
        "on_sale",
    ]
    list_filter = ["on_sale", "spot_kind", ("facility", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["facility"]
    show_full_result_count = False
    search_fields = ["name", "facility__name"]
    inlines = [PermitHoursInline]
    fieldsets = [
        (None, {"fields": ["facility", "name", "spot_kind", "on_sale"]}),
        ("Money", {"fields": ["monthly_price", "currency", "vat_percent"]}),
        ("Spaces", {"fields": ["allocated_spaces", "oversell_percent"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("hours")

    def get_readonly_fields(self, request, obj=None):
        return ["facility"] if obj is not None else []

    @admin.display(description="Hours")
    def hours(self, obj: PermitProduct) -> str:
        return hours_text(hours_of(obj.hours.all()))

    @admin.display(description="Sales cap")
    def sales_cap(self, obj: PermitProduct) -> int:
        return obj.sales_cap

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        product: PermitProduct = form.instance
        changed = not change or bool(ALLOCATION_FIELDS & set(form.changed_data))
        changed = changed or any(formset.has_changed() for formset in formsets)
        if not changed:
            return
        try:
            permit_allocation_check(facility_id=product.facility_id, kind=product.spot_kind)
        except ValidationFailed as exc:
            raise _Refused(exc) from exc


# --- permits ------------------------------------------------------------------------------


class PlatesField(forms.CharField):
    """1–3 plates typed on one line, separated by commas."""

    widget = forms.TextInput(attrs={"size": 40, "placeholder": "ABC-123, XYZ-789"})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, (list, tuple)):
            return [str(p).strip() for p in value if str(p).strip()]
        text = super().to_python(value) or ""
        return [p.strip() for p in re.split(r"[,;]", text) if p.strip()]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, (list, tuple)) else value

    def clean(self, value: Any) -> list[str]:
        plates = super().clean(value)
        try:
            typed, _ = plates_clean(plates)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.fields.get("plates") or exc.message) from exc
        return typed


class _ServiceForm(forms.ModelForm):
    """A form whose save is a service call: it builds no instance and leaves the model's
    own validation to the service (the instance is the row as it was)."""

    def _post_clean(self) -> None:
        return


class PermitIssueForm(_ServiceForm):
    """Issue a permit: to a driver account (by e-mail) or to a company fleet."""

    holder_email = forms.EmailField(
        required=False,
        label="Driver's e-mail",
        help_text="A driver account: the permit shows in their app.",
    )
    plates = PlatesField(help_text="1 to 3 plates, separated by commas.")
    valid_from = forms.DateField(
        initial=timezone.localdate,
        label="First day",
        help_text="Local date the first period starts (one calendar month).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Permit
        fields = [
            "holder_email",
            "company_name",
            "contact_email",
            "product",
            "plates",
            "valid_from",
            "auto_renew",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holder: User | None = None

    def clean_holder_email(self) -> str:
        email = self.cleaned_data["holder_email"].strip()
        if not email:
            return email
        self.holder = (
            User.objects.annotate(is_device=device_account())
            .filter(email__iexact=email, is_active=True, is_device=False)
            .first()
        )
        if self.holder is None:
            raise forms.ValidationError("No driver account has this e-mail.")
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        fleet = bool(cleaned.get("company_name") or cleaned.get("contact_email"))
        if self.has_error("holder_email"):
            return cleaned
        if cleaned.get("holder_email") and fleet:
            raise forms.ValidationError(
                "Issue to a driver's account or to a company fleet, not both."
            )
        if not cleaned.get("holder_email"):
            if not fleet:
                raise forms.ValidationError(
                    "Give a driver's e-mail, or a company name and a contact e-mail."
                )
            for field in ("company_name", "contact_email"):
                if not cleaned.get(field) and not self.has_error(field):
                    self.add_error(field, "A fleet permit needs this.")
        return cleaned

    def order(self) -> PermitOrder:
        data = self.cleaned_data
        return PermitOrder(
            product_id=data["product"].pk,
            plates=data["plates"],
            valid_from=data["valid_from"],
            auto_renew=data["auto_renew"],
            holder=self.holder,
            company_name="" if self.holder else data["company_name"].strip(),
            contact_email="" if self.holder else data["contact_email"].strip(),
        )


class PermitPlatesForm(_ServiceForm):
    """A permit's page: only its plates change here (everything else is history)."""

    plates = PlatesField(help_text="1 to 3 plates, separated by commas.")

    class Meta:
        model = Permit
        fields = ["plates"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"size": 60, "autofocus": True}),
        help_text="Recorded in each permit's history.",
    )


class PermitEventInline(TenantScopedInline, admin.TabularInline):
    model = PermitEvent
    operator_path = "permit__product__facility__operator"
    extra = 0
    can_delete = False
    fields = ["local_at", "action", "from_status", "to_status", "actor", "actor_kind", "reason"]
    readonly_fields = fields
    verbose_name_plural = "History"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "permit__product__facility")

    @admin.display(description="At (facility time)")
    def local_at(self, obj: PermitEvent) -> str:
        return local(obj.at, obj.permit.product.facility)

    def has_add_permission(self, request, obj):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ProductFilter(admin.RelatedOnlyFieldListFilter):
    """The products the staff member's permits are of, named with their facility: one
    query (the stock filter reads each product's facility on its own)."""

    def field_choices(self, field, request, model_admin):
        used = model_admin.get_queryset(request).values("product_id")
        products = (
            PermitProduct.objects.filter(pk__in=used)
            .select_related("facility")
            .order_by("facility__name", "name", "id")
        )
        return [(product.pk, str(product)) for product in products]


class Moved:
    """What a status action is called on its page and what it did, in messages and the
    admin history."""

    SUSPEND = ("Suspend", "suspended")
    REACTIVATE = ("Reactivate", "reactivated")


@admin.register(Permit)
class PermitAdmin(ServiceRefusalsOnForm, TenantScopedAdmin):
    operator_path = "product__facility__operator"
    form = PermitPlatesForm
    list_display = [
        "reference",
        "holder_or_company",
        "plates_text",
        "product",
        "facility",
        "status",
        "starts",
        "ends",
        "auto_renew",
    ]
    list_filter = ["status", ("product", ProductFilter), "auto_renew"]
    list_select_related = ["product__facility", "holder"]
    list_per_page = 100
    show_full_result_count = False
    search_fields = ["reference"]
    search_help_text = "Reference, e-mail, company or licence plate. Plate searches are recorded."
    autocomplete_fields = ["product"]
    actions = ["suspend", "reactivate"]
    inlines = [PermitEventInline]
    add_fieldsets = [
        (
            "For a driver",
            {"fields": ["holder_email"], "description": "A driver account, by its e-mail …"},
        ),
        (
            "… or for a company fleet",
            {"fields": ["company_name", "contact_email"]},
        ),
        ("Permit", {"fields": ["product", "plates", "valid_from", "auto_renew"]}),
    ]
    change_fieldsets = [
        (None, {"fields": ["reference", "status", "status_reason", "product", "facility"]}),
        ("Holder", {"fields": ["holder_email", "company_name", "contact_email", "plates"]}),
        (
            "Period (facility time)",
            {"fields": ["first_day", "starts", "ends", "auto_renew"]},
        ),
        ("Money", {"fields": ["price", "price_vat", "currency"]}),
    ]
    change_readonly = [
        "reference",
        "status",
        "status_reason",
        "product",
        "facility",
        "holder_email",
        "company_name",
        "contact_email",
        "first_day",
        "starts",
        "ends",
        "auto_renew",
        "price",
        "price_vat",
        "currency",
    ]

    # -- display ---------------------------------------------------------------------------

    @admin.display(description="Holder")
    def holder_or_company(self, obj: Permit) -> str:
        if obj.holder is not None:
            return obj.holder.email
        return f"{obj.company_name} ({obj.contact_email})" if obj.company_name else obj.recipient

    @admin.display(description="Driver")
    def holder_email(self, obj: Permit) -> str:
        return obj.holder.email if obj.holder else "–"

    @admin.display(description="Plates")
    def plates_text(self, obj: Permit) -> str:
        return ", ".join(obj.plates)

    @admin.display(description="Facility", ordering="product__facility__name")
    def facility(self, obj: Permit) -> str:
        return obj.product.facility.name

    @admin.display(description="Valid from", ordering="valid_from")
    def starts(self, obj: Permit) -> str:
        return local(obj.valid_from, obj.product.facility)

    @admin.display(description="Valid to (exclusive)", ordering="valid_to")
    def ends(self, obj: Permit) -> str:
        return local(obj.valid_to, obj.product.facility)

    # -- forms -----------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if not self.has_change_permission(request, obj):
            return [*self.change_readonly, "plates"]
        return self.change_readonly

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PermitIssueForm
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # A permit's history stays: it ends by cancellation or expiry, through the services.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            if not self.may_write(request, obj):
                raise PermissionDenied
            if "plates" not in form.changed_data:
                return
            try:
                saved = permit_plates_change(
                    permit=obj,
                    plates=form.cleaned_data["plates"],
                    actor=request.user,
                    actor_kind=ActorKind.STAFF,
                )
            except ParkMeError as exc:
                raise _Refused(exc) from exc
        else:
            product = form.cleaned_data["product"]
            if not self._may(request, product.facility.operator_id, self.write_roles):
                raise PermissionDenied  # the form's choices are scoped: a last line only
            try:
                saved = permit_create(
                    order=form.order(), actor=request.user, actor_kind=ActorKind.STAFF
                )
            except ParkMeError as exc:
                raise _Refused(exc) from exc
        # The view logs and redirects with ``obj``: make it the row the service saved.
        for field in Permit._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    # -- search ----------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q(reference__iexact=term) | Q(company_name__icontains=term)
        if "@" in term:
            matches |= Q(holder__email__iexact=term) | Q(contact_email__iexact=term)
        elif plate := normalize_plate(term):
            matches |= Q(plates_normalized__contains=[plate])
            self.record_plate_lookup(request, term)
        return self.scope(request, queryset.filter(matches), self.visible_roles), False

    def record_plate_lookup(self, request, term: str) -> None:
        """Every staff look-up by plate is recorded, per operator searched (as bookings)."""
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

    # -- actions ---------------------------------------------------------------------------

    @admin.action(
        description="Suspend selected permits (asks for a reason)", permissions=["change"]
    )
    def suspend(self, request, queryset):
        return self._move(request, queryset, service=permit_suspend, names=Moved.SUSPEND)

    @admin.action(
        description="Reactivate selected permits (asks for a reason)", permissions=["change"]
    )
    def reactivate(self, request, queryset):
        return self._move(request, queryset, service=permit_reactivate, names=Moved.REACTIVATE)

    def _move(
        self,
        request: HttpRequest,
        queryset: QuerySet[Permit],
        *,
        service: Callable[..., Permit],
        names: tuple[str, str],
    ) -> HttpResponse | None:
        """First the page asking for a reason; on "apply", the service per permit (each in
        its own transaction: one refused permit does not undo the others)."""
        verb, done = names
        permits = list(queryset.select_related("product__facility").order_by("reference"))
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": f"{verb} permits: give a reason",
                "opts": self.opts,
                "permits": permits,
                "form": form,
                "action": request.POST.get("action", ""),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "verb": verb,
                "media": self.media,
            }
            return TemplateResponse(request, "admin/bookings/permit/move_reason.html", context)
        reason = form.cleaned_data["reason"].strip()
        writable = set(self.scope(request, queryset, self.write_roles).values_list("pk", flat=True))
        ok, refused = [], []
        for permit in permits:
            if permit.pk not in writable:
                refused.append(f"{permit.reference}: you may only read this permit.")
                continue
            try:
                service(permit=permit, actor=request.user, reason=reason)
            except ParkMeError as exc:
                refused.append(f"{permit.reference}: {exc.message}")
            else:
                ok.append(permit.reference)
                self.log_change(request, permit, f"{done}: {reason}")
        if ok:
            self.message_user(request, f"{done.capitalize()}: {', '.join(ok)}.", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, problem, messages.ERROR)
        return None
