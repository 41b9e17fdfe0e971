"""Outbound webhooks: an operator's endpoints and the outbox of deliveries to them.

A delivery row is written in the same transaction as the change it reports (one row per
subscribed endpoint), so a rolled-back change sends nothing and a committed one is always
sent: at least once, per endpoint in the order the rows were written (ids).
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from parkme.models import Operator
from parkme.webhooks.events import EventType


class WebhookEndpoint(models.Model):
    operator = models.ForeignKey(
        Operator, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(
        "URL",
        max_length=500,
        help_text="Where ParkMe POSTs the events: https, on a public address.",
    )
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        default=list,
        help_text="The events this endpoint receives.",
    )
    # The HMAC key: shown once when created or rolled, never again.
    secret = models.CharField(max_length=100, editable=False)
    # While a roll is in progress both secrets sign, until previous_secret_expires_at.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Only active endpoints receive events. ParkMe disables an endpoint after "
        "many events in a row fail.",
    )
    consecutive_failures = models.PositiveIntegerField(
        default=0, editable=False, help_text="Events in a row that failed for good."
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=255, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["operator", "url"]
        verbose_name = "webhook endpoint"
        indexes = [
            # Every change asks which of its operator's endpoints subscribe.
            models.Index(
                fields=["operator"],
                condition=Q(is_active=True),
                name="webhookendpoint_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event_type = models.CharField(max_length=40)
    # The exact JSON text sent (and signed): a redelivery sends the same bytes.
    payload = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    retry_until = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    latency_ms = models.PositiveIntegerField("latency (ms)", null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The admin's list of one endpoint's deliveries, newest first.
            models.Index(fields=["endpoint", "id"], name="webhookdelivery_endpoint_idx"),
            # The head of an endpoint's queue: its oldest pending delivery.
            models.Index(
                fields=["endpoint", "id"],
                condition=Q(status="pending"),
                name="webhookdelivery_queue_idx",
            ),
            # The sweep: pending deliveries overdue.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhookdelivery_due_idx",
            ),
            # Monitoring counts the deliveries that gave up (few) without reading history.
            models.Index(
                fields=["id"], condition=Q(status="failed"), name="webhookdelivery_failed_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="webhookdelivery_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
