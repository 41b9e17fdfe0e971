"""Webhooks for operator admins: their endpoints, and the deliveries made to them.

Only operator admins see any of it (migrations/0002_webhook_permissions.py grants the
permissions to their group; the admin narrows them to the operators a user administers).
Attendants and devices get nothing, not even the section on the admin index.

Every write goes through parkme.webhooks.services, like everywhere else:

- an endpoint's URL is checked by the SSRF guard (a refusal is an error on the form);
- a new endpoint's signing secret is made by the service and shown once, on the page that
  answers the "save" (never in a message or a cookie): no page shows it again. "Roll
  secret" makes a new one, shown the same way, while the old one keeps signing for a while;
- "Send test event" queues a ``webhook.test`` delivery to one endpoint;
- deliveries are read-only rows; "Redeliver" queues an event again as a new delivery (the
  old row stays as the record). Operator admins only *view* deliveries, so redelivering
  has its own permission check: view permission and being an admin of the row's operator.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from parkme.admin_tenancy import (
    ReadOnlyAdmin,
    TenantScopedAdmin,
    local_time_for_staff,
    scope_queryset,
)
from parkme.tenancy import ADMIN_ROLES
from parkme.webhooks.addresses import AddressRefused
from parkme.webhooks.events import TEST_EVENT, EventType
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from parkme.webhooks.services import (
    deliveries_redeliver,
    endpoint_roll_secret,
    endpoint_save,
    endpoint_send_test,
    endpoint_url_validate,
)
from parkme.webhooks.signing import SIGNATURE_HEADER

SHOWN_ONCE_TEMPLATE = "admin/webhooks/webhookendpoint/secret.html"
ERROR_LENGTH = 80  # characters of a delivery's last error shown in the list


def local(value: datetime | None) -> str:
    """A time as the page reads it (the staff's facilities' zone, see local_time_for_staff)."""
    if value is None:
        return "–"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def deliveries_url(**params: Any) -> str:
    url = reverse("admin:webhooks_webhookdelivery_changelist")
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{url}?{query}" if query else url


# --- endpoints ----------------------------------------------------------------------------


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where ParkMe POSTs the events: https, on a public address.",
        widget=forms.URLInput(attrs={"size": 70}),
    )
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives (at least one).",
        error_messages={"required": "Choose at least one event."},
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["operator", "url", "description", "event_types", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            endpoint_url_validate(url)
        except AddressRefused as exc:
            raise forms.ValidationError(str(exc), code="refused") from exc
        return url

    def clean_event_types(self) -> list[str]:
        chosen = set(self.cleaned_data["event_types"])
        return [value for value in EventType.values if value in chosen]  # in the list's order


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    operator_path = "operator"
    preset_operator = True
    view_roles = ADMIN_ROLES
    write_roles = ADMIN_ROLES
    form = EndpointForm
    list_display = [
        "url",
        "operator",
        "is_active",
        "subscribed",
        "consecutive_failures",
        "deliveries_link",
    ]
    list_filter = ["is_active", ("operator", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["operator"]
    search_fields = ["url", "description"]
    actions = ["send_test_event"]
    main_fields = ["operator", "url", "description", "event_types", "is_active"]
    status_fields = [
        "created_at",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "secret_roll",
    ]

    # -- display ---------------------------------------------------------------------------

    @admin.display(description="Events")
    def subscribed(self, obj: WebhookEndpoint) -> str:
        types = obj.event_types or []
        if len(types) <= 3:
            return ", ".join(types) or "–"
        return format_html('<span title="{}">{} events</span>', ", ".join(types), len(types))

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        return format_html(
            '<a href="{}">deliveries</a>', deliveries_url(endpoint__id__exact=obj.pk)
        )

    @admin.display(description="Secret roll")
    def secret_roll(self, obj: WebhookEndpoint) -> str:
        until = obj.previous_secret_expires_at
        if obj.previous_secret and until is not None and until > timezone.now():
            return f"In progress: the previous secret also signs until {local(until)}."
        return "No: one secret signs."

    # -- the form --------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": self.main_fields})]
        return [(None, {"fields": self.main_fields}), ("Status", {"fields": self.status_fields})]

    def get_readonly_fields(self, request, obj=None):
        # An endpoint stays with its operator: its deliveries are that operator's record.
        return [] if obj is None else ["operator", *self.status_fields]

    def save_model(self, request, obj, form, change):
        if not self.may_write(request, obj):
            raise PermissionDenied
        secret = endpoint_save(obj)
        if secret is not None:
            request._webhook_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret: str | None = getattr(request, "_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self.secret_response(request, obj, secret, rolled=False)

    def get_deleted_objects(self, objs, request):
        """An endpoint's deliveries go with it (they are its record, not rows of their own
        that need a delete permission); they are counted rather than listed one by one."""
        endpoints = list(objs)
        counts = dict(
            WebhookDelivery.objects.filter(endpoint__in=endpoints)
            .values_list("endpoint")
            .annotate(n=Count("id"))
            .values_list("endpoint", "n")
        )
        deleted: list[Any] = []
        for endpoint in endpoints:
            deleted.append(f"Webhook endpoint: {endpoint.url}")
            if counts.get(endpoint.pk):
                deleted.append([f"{counts[endpoint.pk]} webhook deliveries (its history)"])
        model_count = {WebhookEndpoint._meta.verbose_name_plural: len(endpoints)}
        if total := sum(counts.values()):
            model_count[WebhookDelivery._meta.verbose_name_plural] = total
        perms_needed = (
            set()
            if all(self.has_delete_permission(request, e) for e in endpoints)
            else {WebhookEndpoint._meta.verbose_name}
        )
        return deleted, model_count, perms_needed, []

    # -- the secret, shown once ------------------------------------------------------------

    def secret_response(
        self, request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, rolled: bool
    ) -> HttpResponse:
        """The only page that shows a secret: the answer to the POST that made it."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": endpoint,
            "endpoint": endpoint,
            "secret": secret,
            "rolled": rolled,
            "previous_until": endpoint.previous_secret_expires_at if rolled else None,
            "signature_header": SIGNATURE_HEADER,
            "title": "Secret rolled" if rolled else "Webhook endpoint added",
        }
        response = TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)
        with local_time_for_staff(request):
            return response.render()

    # -- roll secret, send test event ------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/roll-secret/",
                self.admin_site.admin_view(self.roll_secret_view),
                name="webhooks_webhookendpoint_roll_secret",
            ),
            path(
                "<path:object_id>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="webhooks_webhookendpoint_send_test",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_act"] = obj is not None and self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _writable(self, request: HttpRequest, object_id: str) -> WebhookEndpoint | HttpResponse:
        """The endpoint a POST acts on, or the answer: missing (another operator's id
        answers just the same), forbidden, or not a POST."""
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return endpoint

    def roll_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = self._writable(request, object_id)
        if isinstance(endpoint, HttpResponse):
            return endpoint
        secret = endpoint_roll_secret(endpoint_id=endpoint.pk)
        endpoint.refresh_from_db()
        self.log_change(request, endpoint, "Rolled the signing secret.")
        return self.secret_response(request, endpoint, secret, rolled=True)

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        endpoint = self._writable(request, object_id)
        if isinstance(endpoint, HttpResponse):
            return endpoint
        self._send_tests(request, [endpoint])
        return HttpResponseRedirect(
            reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
        )

    @admin.action(description="Send a test event to selected endpoints", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        writable = self.scope(request, queryset, self.write_roles).select_related("operator")
        self._send_tests(request, list(writable))

    def _send_tests(self, request: HttpRequest, endpoints: Iterable[WebhookEndpoint]) -> None:
        sent = []
        for endpoint in endpoints:
            endpoint_send_test(endpoint=endpoint)
            self.log_change(request, endpoint, "Sent a test event.")
            sent.append(endpoint)
        if not sent:
            return
        if len(sent) == 1:
            [endpoint] = sent
            link = deliveries_url(endpoint__id__exact=endpoint.pk)
            what = format_html("Queued a test event to {}.", endpoint.url)
        else:
            link = deliveries_url(event_type=TEST_EVENT)
            what = format_html("Queued a test event to {} endpoints.", len(sent))
        inactive = [e for e in sent if not e.is_active]
        note = " Inactive endpoints receive it once they are activated." if inactive else ""
        self.message_user(
            request,
            format_html('{}{} <a href="{}">See the deliveries</a>.', what, note, link),
            messages.SUCCESS,
        )


# --- deliveries ---------------------------------------------------------------------------


class EventTypeFilter(admin.SimpleListFilter):
    """The known event types (a fixed list: no query over the deliveries)."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [*EventType.choices, (TEST_EVENT, TEST_EVENT)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(event_type=value) if value else queryset


class EndpointFilter(admin.RelatedFieldListFilter):
    """The endpoints of the operators the user administers (one query): never another
    operator's, whose URLs are theirs alone."""

    def field_choices(self, field, request, model_admin):
        endpoints = list(
            scope_queryset(
                request,
                WebhookEndpoint.objects.select_related("operator"),
                operator_path="operator",
                roles=model_admin.visible_roles,
            ).order_by("operator__name", "url", "id")
        )
        several = len({e.operator_id for e in endpoints}) > 1
        return [(e.pk, f"{e.url} ({e.operator.name})" if several else e.url) for e in endpoints]

    def has_output(self) -> bool:
        # Django drops a filter without output, and its parameter with it: a link to one
        # endpoint's deliveries must filter even when the user has only that endpoint.
        return super().has_output() or self.lookup_val is not None


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    operator_path = "endpoint__operator"
    view_roles = ADMIN_ROLES
    write_roles = ADMIN_ROLES
    list_display = [
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "response_status",
        "latency_ms",
        "attempts",
        "created_at",
        "last_attempt_at",
        "delivered_at",
        "error",
    ]
    list_filter = ["status", EventTypeFilter, ("endpoint", EndpointFilter)]
    list_select_related = ["endpoint"]
    list_per_page = 100
    show_full_result_count = False
    search_fields = ["event_id"]
    search_help_text = "An event id (the ParkMe-Event-Id header of the request)."
    actions = ["redeliver_selected"]
    fieldsets = [
        (
            None,
            {"fields": ["event_type", "event_id", "endpoint_link", "status", "original"]},
        ),
        (
            "Attempts",
            {
                "fields": [
                    "attempts",
                    "created_at",
                    "next_attempt_at",
                    "retry_until",
                    "last_attempt_at",
                    "delivered_at",
                ]
            },
        ),
        (
            "Last response",
            {"fields": ["response_status", "latency_ms", "last_error", "response"]},
        ),
        ("Payload (as sent and signed)", {"fields": ["payload_json"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)

    # -- display ---------------------------------------------------------------------------

    @admin.display(description="Last error")
    def error(self, obj: WebhookDelivery) -> str:
        return Truncator(obj.last_error).chars(ERROR_LENGTH) if obj.last_error else ""

    @admin.display(description="Endpoint")
    def endpoint_link(self, obj: WebhookDelivery) -> str:
        url = reverse("admin:webhooks_webhookendpoint_change", args=[obj.endpoint_id])
        return format_html('<a href="{}">{}</a>', url, obj.endpoint.url)

    @admin.display(description="Redelivery of")
    def original(self, obj: WebhookDelivery) -> str:
        if obj.redelivery_of_id is None:
            return "–"
        url = reverse("admin:webhooks_webhookdelivery_change", args=[obj.redelivery_of_id])
        return format_html('<a href="{}">delivery #{}</a>', url, obj.redelivery_of_id)

    @admin.display(description="Response excerpt")
    def response(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", obj.response_excerpt) if obj.response_excerpt else "–"

    @admin.display(description="Payload")
    def payload_json(self, obj: WebhookDelivery) -> str:
        try:
            text = json.dumps(json.loads(obj.payload), indent=2, ensure_ascii=False)
        except ValueError:
            text = obj.payload
        return format_html('<pre class="pm-payload">{}</pre>', text)

    # -- search ----------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        """By event id, whole (as a receiver logs it); anything else finds nothing."""
        term = search_term.strip()
        if not term:
            return queryset, False
        field = WebhookDelivery._meta.get_field("event_id")
        try:
            event_id = field.to_python(term)
        except ValidationError:  # not a UUID: no delivery has it
            return queryset.none(), False
        return self.scope(request, queryset.filter(event_id=event_id), self.visible_roles), False

    # -- redeliver -------------------------------------------------------------------------

    def has_redeliver_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None):
        """View permission and admin of the row's operator (of some operator, with no row):
        group permissions give admins only *view* on deliveries."""
        operator_id = None if obj is None else self.operator_of(obj)
        return self.has_view_permission(request, obj) and self._may(
            request, operator_id, ADMIN_ROLES
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/redeliver/",
                self.admin_site.admin_view(self.redeliver_view),
                name="webhooks_webhookdelivery_redeliver",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_redeliver"] = obj is not None and self.has_redeliver_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def redeliver_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        delivery = self.get_object(request, unquote(object_id))
        if delivery is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_redeliver_permission(request, delivery):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        [new] = self._redeliver(request, [delivery])
        url = reverse("admin:webhooks_webhookdelivery_change", args=[new.pk])
        self.message_user(
            request,
            format_html(
                'Event {} queued again as <a href="{}">delivery #{}</a>.',
                delivery.event_id,
                url,
                new.pk,
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(url)

    @admin.action(description="Redeliver selected events", permissions=["redeliver"])
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]):
        # The changelist's rows are already scoped; scope once more to the admin role so
        # forged ids of another operator's deliveries do nothing, whatever the view roles.
        deliveries = list(self.scope(request, queryset, ADMIN_ROLES).select_related(None))
        new = self._redeliver(request, deliveries)
        self.message_user(
            request,
            format_html(
                'Queued {} event(s) again. <a href="{}">See the pending deliveries</a>.',
                len(new),
                deliveries_url(status__exact=DeliveryStatus.PENDING),
            ),
            messages.SUCCESS if new else messages.WARNING,
        )

    def _redeliver(
        self, request: HttpRequest, deliveries: list[WebhookDelivery]
    ) -> list[WebhookDelivery]:
        if not deliveries:
            return []
        new = deliveries_redeliver(deliveries)
        for old, row in zip(sorted(deliveries, key=lambda d: d.pk), new, strict=True):
            self.log_change(request, old, f"Redelivered as delivery #{row.pk}.")
        return new
