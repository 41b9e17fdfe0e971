"""Users, operators and memberships.

Only superusers (ops) see users and operators. Operator admins manage the memberships of
their own operator, by e-mail of an existing account, never the global user list; every
membership write goes through parkme.services so is_staff and staff groups stay in sync.
Adding a member answers the same whether or not the e-mail has a ParkMe account, so the
form cannot be used to find out who has one.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse

from parkme.admin_tenancy import SuperuserOnlyAdmin, TenantScopedAdmin
from parkme.models import BackupRun, Membership, Operator, User
from parkme.services import membership_remove, membership_set, user_sync_staff_flag
from parkme.tenancy import ADMIN_ROLES

logger = logging.getLogger(__name__)

admin.site.site_header = "ParkMe staff admin"
admin.site.site_title = "ParkMe staff admin"
admin.site.index_title = "Your facilities, spots and bookings"


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)


class OperatorMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Operator)
class OperatorAdmin(SuperuserOnlyAdmin):
    # Lets other admins scope their operator choices through this model.
    operator_path = "pk"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [OperatorMembershipInline]

    def save_formset(self, request, form, formset, change):
        # Inline rows bypass membership_set: resync everyone the formset touched.
        touched = {f.instance.user_id for f in formset.initial_forms if f.instance.user_id}
        super().save_formset(request, form, formset, change)
        touched |= {f.instance.user_id for f in formset.forms if f.instance.user_id}
        for user in User.objects.filter(pk__in=touched):
            user_sync_staff_flag(user=user)


class MembershipAddForm(forms.ModelForm):
    """Adds the account with this e-mail, if there is one. An e-mail without an account is
    accepted just the same and adds nothing: the answer never tells whether someone has a
    ParkMe account (only people already in this operator's list are named as such)."""

    email = forms.EmailField(
        label="E-mail",
        help_text="The person's ParkMe account. Nothing is added if no account uses this "
        "e-mail: they register first.",
    )

    class Meta:
        model = Membership
        fields = ["email", "operator", "role"]

    def clean(self):
        cleaned = super().clean()
        email, operator = cleaned.get("email"), cleaned.get("operator")
        if not email:
            return cleaned
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            return cleaned  # accepted like any other e-mail; MembershipAdmin adds nothing
        if operator and Membership.objects.filter(user=user, operator=operator).exists():
            # They are in this operator's member list already, which this admin can see.
            self.add_error("email", "Already a member of this operator: change that membership.")
        else:
            self.instance.user = user
        return cleaned


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    operator_path = "operator"
    view_roles = ADMIN_ROLES
    write_roles = ADMIN_ROLES
    list_display = ["user", "operator", "role", "created_at"]
    list_filter = ["role", ("operator", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "operator"]
    search_fields = ["user__email", "user__full_name"]
    search_help_text = "E-mail or name"

    def get_fields(self, request, obj=None):
        return ["email", "operator", "role"] if obj is None else ["user", "operator", "role"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.user_id == request.user.pk and not request.user.is_superuser:
            return ["user", "operator", "role"]  # nobody locks themselves out by accident
        return ["user", "operator"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.user_id == request.user.pk and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        if not self.may_write(request, obj):
            raise PermissionDenied
        if obj.user_id is None:  # an e-mail without an account: nothing to add
            logger.info("membership add for an e-mail without an account: nothing added")
            return
        saved = membership_set(user=obj.user, operator=obj.operator, role=obj.role)
        obj.pk = saved.pk

    def log_addition(self, request, obj, message):
        if obj.pk is None:  # nothing was added, so there is nothing to log
            return None
        return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        """The same message and redirect whether or not a membership was added: "Save and
        continue editing" would open the new membership's page, so every save goes back to
        the list (or to a fresh form for "Save and add another")."""
        email = request.POST.get("email", "").strip()
        self.message_user(
            request,
            f"If {email} belongs to a ParkMe account, that account is now "
            f"{obj.get_role_display().lower()} of {obj.operator}. If it does not, nothing "
            "was added: ask them to register first, then add them again.",
            messages.SUCCESS,
        )
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:parkme_membership_changelist"))

    def delete_model(self, request, obj):
        membership_remove(membership=obj)

    def delete_queryset(self, request, queryset):
        queryset = self.scope(request, queryset, self.write_roles)
        if not request.user.is_superuser:
            queryset = queryset.exclude(user=request.user)
        for membership in queryset.select_related("user"):
            membership_remove(membership=membership)


@admin.register(BackupRun)
class BackupRunAdmin(SuperuserOnlyAdmin):
    """Nightly backups and restore drills as they ran: ops read them, nobody edits them."""

    list_display = ["started_at", "kind", "ok", "finished_at", "size_bytes", "s3_url", "local_path"]
    list_filter = ["kind", "ok"]
    date_hierarchy = "started_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in BackupRun._meta.fields]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
