"""Writes: events into the outbox, and what operator admins do with their endpoints.

``webhook_emit`` is how the rest of ParkMe reports a change: it writes one delivery row per
subscribed active endpoint in the caller's transaction, and hands the endpoints to a worker
once that transaction commits. Data is built only when someone subscribes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from parkme.webhooks.addresses import url_check
from parkme.webhooks.events import API_VERSION, TEST_EVENT
from parkme.webhooks.models import WebhookDelivery, WebhookEndpoint
from parkme.webhooks.queue import endpoints_enqueue_on_commit
from parkme.webhooks.selectors import Subscriptions, subscriptions
from parkme.webhooks.signing import secret_new


def webhook_settings() -> dict[str, Any]:
    return settings.PARKME_WEBHOOKS


def _pending(
    *, endpoint_id: int, event_id: uuid.UUID, event_type: str, payload: str, now: datetime, **extra
) -> WebhookDelivery:
    """A delivery due now, retried for RETRY_FOR_HOURS from now."""
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        next_attempt_at=now,
        retry_until=now + timedelta(hours=webhook_settings()["RETRY_FOR_HOURS"]),
        created_at=now,
        **extra,
    )


@dataclass(frozen=True)
class Event:
    """One change to report: its operator, its type, and how to build its data (called
    only when an endpoint subscribes)."""

    operator_id: int
    type: str
    data: Callable[[], dict[str, Any]]


def envelope(
    *, event_id: uuid.UUID, event_type: str, at: datetime, operator: str, data: dict
) -> str:
    """The body ParkMe POSTs, as JSON text (stored as sent, so it is signed as stored)."""
    return json.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "created_at": at.isoformat(),
            "api_version": API_VERSION,
            "operator": operator,
            "data": data,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def webhook_emit(
    events: Iterable[Event], *, subscribed: Subscriptions | None = None, now: datetime | None = None
) -> int:
    """Write the delivery rows of these events (in order) for every active endpoint of their
    operator that subscribes; returns how many rows. One query when nobody subscribes, one
    more to insert. Pass ``subscribed`` when the caller already asked."""
    events = list(events)
    if not events:
        return 0
    if subscribed is None:
        subscribed = subscriptions(
            operator_ids=[e.operator_id for e in events], event_types=[e.type for e in events]
        )
    if not subscribed:
        return 0
    now = now or timezone.now()
    rows: list[WebhookDelivery] = []
    for event in events:
        endpoint_ids = subscribed.endpoints(event.operator_id, event.type)
        if not endpoint_ids:
            continue
        event_id = uuid.uuid4()
        payload = envelope(
            event_id=event_id,
            event_type=event.type,
            at=now,
            operator=subscribed.slugs[event.operator_id],
            data=event.data(),
        )
        rows.extend(
            _pending(
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event.type,
                payload=payload,
                now=now,
            )
            for endpoint_id in endpoint_ids
        )
    if rows:
        WebhookDelivery.objects.bulk_create(rows)
        endpoints_enqueue_on_commit({row.endpoint_id for row in rows})
    return len(rows)


# --- what operator admins do ---------------------------------------------------------------


def endpoint_url_validate(url: str) -> None:
    """AddressRefused (its message for the form) when the URL may not be used."""
    url_check(url)


def endpoint_save(endpoint: WebhookEndpoint) -> str | None:
    """Save an endpoint the admin edited; a new one gets its secret, returned (the only time
    it is shown). Re-activating an endpoint starts its failure count afresh."""
    endpoint_url_validate(endpoint.url)
    created = endpoint.pk is None
    secret = None
    if created:
        secret = endpoint.secret = secret_new()
    if endpoint.is_active:
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    endpoint.save()
    if not created and endpoint.is_active:
        # Deliveries held back while it was disabled go out now.
        endpoints_enqueue_on_commit({endpoint.pk})
    return secret


@transaction.atomic
def endpoint_roll_secret(*, endpoint_id: int, now: datetime | None = None) -> str:
    """A new secret, returned (shown once); the old one keeps signing alongside it for
    SECRET_OVERLAP_HOURS so receivers can switch without dropping events."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(
        hours=webhook_settings()["SECRET_OVERLAP_HOURS"]
    )
    endpoint.secret = secret_new()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a request sent now: the current one, and the previous one
    during a roll."""
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets_.append(endpoint.previous_secret)
    return secrets_


@transaction.atomic
def endpoint_send_test(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to this endpoint, whatever it subscribes to."""
    now = now or timezone.now()
    event_id = uuid.uuid4()
    delivery = _pending(
        endpoint_id=endpoint.pk,
        event_id=event_id,
        event_type=TEST_EVENT,
        payload=envelope(
            event_id=event_id,
            event_type=TEST_EVENT,
            at=now,
            operator=endpoint.operator.slug,
            data={"endpoint": endpoint.pk, "url": endpoint.url, "message": "A test event."},
        ),
        now=now,
    )
    delivery.save()
    endpoints_enqueue_on_commit({endpoint.pk})
    return delivery


@transaction.atomic
def deliveries_redeliver(
    deliveries: Iterable[WebhookDelivery], *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Send these events again: each becomes a new pending delivery at the end of its
    endpoint's queue (same event id and payload, so receivers can tell a repeat), with a
    fresh retry window. The old rows stay as they were, for the record."""
    now = now or timezone.now()
    rows = [
        _pending(
            endpoint_id=old.endpoint_id,
            event_id=old.event_id,
            event_type=old.event_type,
            payload=old.payload,
            now=now,
            redelivery_of=old,
        )
        for old in sorted(deliveries, key=lambda d: d.pk)
    ]
    WebhookDelivery.objects.bulk_create(rows)
    endpoints_enqueue_on_commit({row.endpoint_id for row in rows})
    return rows
