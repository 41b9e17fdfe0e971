"""Delivering an endpoint's queue: in order, one at a time, at least once.

A run locks the endpoint row (``FOR NO KEY UPDATE SKIP LOCKED``: one worker per endpoint,
while changes elsewhere keep inserting deliveries that reference it) and sends the oldest
pending delivery; the POST and the row's new state commit together. A worker killed
mid-POST rolls that back, so the delivery is still pending and is sent again (the receiver
may see an event id twice; the admin shows one delivered row). Nothing later goes out
before the head of the queue is delivered or has failed for good, so each endpoint sees its
events in the order they were written.

A failed attempt is retried with exponential backoff and jitter (the first within a minute)
until RETRY_FOR_HOURS after the event; then it has failed. After DISABLE_AFTER_FAILURES
events in a row have failed, the endpoint is disabled and its operator's admins are
e-mailed; its pending deliveries wait until an admin activates it again.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from parkme.models import Membership, Role
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from parkme.webhooks.selectors import endpoints_overdue, queue_head
from parkme.webhooks.services import signing_secrets, webhook_settings
from parkme.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from parkme.webhooks.transport import PostResult, post

logger = logging.getLogger(__name__)

# A run sends at most this many before handing the endpoint to a fresh task: other
# endpoints' tasks get a turn, and 20 slow answers (5 s each at most) stay well inside the
# task's soft time limit.
RUN_LIMIT = 20


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: BASE·2^(n-1) capped
    at MAX, then a random point in its upper half (a burst of failures does not come back
    as one burst). With the defaults the first retry comes 15–30 s after the first try."""
    config = webhook_settings()
    delay = min(config["RETRY_MAX_SECONDS"], config["RETRY_BASE_SECONDS"] * 2 ** (attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


@dataclass
class RunResult:
    delivered: int = 0
    failed: int = 0
    # Set when this run's attempt failed and will be retried: when the head is due again.
    retry_at: datetime | None = None
    busy: bool = False  # another worker is delivering this endpoint
    more: bool = False  # stopped at RUN_LIMIT with more due


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> PostResult:
    body = delivery.payload.encode()
    headers = {
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event_type,
        SIGNATURE_HEADER: signature_header(signing_secrets(endpoint, timezone.now()), body),
    }
    return post(endpoint.url, body, headers, timeout=webhook_settings()["TIMEOUT_SECONDS"])


def _record(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, result: PostResult
) -> DeliveryStatus | None:
    """Store the attempt on the delivery (and the endpoint); the status it ended in, or
    None when it stays pending for a retry."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = result.status
    delivery.latency_ms = result.latency_ms
    delivery.response_excerpt = result.excerpt
    delivery.last_error = result.error[:2000]
    fields = [
        "attempts",
        "last_attempt_at",
        "response_status",
        "latency_ms",
        "response_excerpt",
        "last_error",
        "status",
    ]
    ended: DeliveryStatus | None
    if result.ok:
        delivery.status = ended = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        fields.append("delivered_at")
        if endpoint.consecutive_failures:
            endpoint.consecutive_failures = 0
            endpoint.save(update_fields=["consecutive_failures", "updated_at"])
    elif now >= delivery.retry_until:
        delivery.status = ended = DeliveryStatus.FAILED
        _count_failure(endpoint, delivery, now)
    else:
        ended = None
        delivery.next_attempt_at = min(
            now + timedelta(seconds=retry_delay(delivery.attempts)), delivery.retry_until
        )
        fields.append("next_attempt_at")
    delivery.save(update_fields=fields)
    log = logger.info if result.ok else logger.warning
    log(
        "webhook %s %s to endpoint %s attempt %d: %s",
        delivery.event_type,
        delivery.event_id,
        endpoint.pk,
        delivery.attempts,
        "delivered" if result.ok else result.error,
    )
    return ended


def _count_failure(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> None:
    endpoint.consecutive_failures += 1
    fields = ["consecutive_failures", "updated_at"]
    limit = webhook_settings()["DISABLE_AFTER_FAILURES"]
    if endpoint.is_active and endpoint.consecutive_failures >= limit:
        endpoint.is_active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = (
            f"{endpoint.consecutive_failures} events in a row failed; the last: "
            f"{delivery.last_error}"
        )[:255]
        fields += ["is_active", "disabled_at", "disabled_reason"]
        logger.error("webhook endpoint %s disabled: %s", endpoint.pk, endpoint.disabled_reason)
        endpoint_id = endpoint.pk
        transaction.on_commit(lambda: endpoint_disabled_notify(endpoint_id))
    endpoint.save(update_fields=fields)


def endpoint_disabled_notify(endpoint_id: int) -> int:
    """E-mail the operator's admins that the endpoint was disabled; never raises."""
    endpoint = WebhookEndpoint.objects.select_related("operator").get(pk=endpoint_id)
    recipients = sorted(
        Membership.objects.filter(
            operator_id=endpoint.operator_id, role=Role.ADMIN, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if not recipients:
        return 0
    context = {"endpoint": endpoint, "operator": endpoint.operator}
    try:
        return send_mail(
            subject=f"ParkMe disabled your webhook endpoint {endpoint.url}",
            message=render_to_string("webhooks/endpoint_disabled.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    except Exception:  # noqa: BLE001 - the endpoint stays disabled and the admin shows why
        logger.exception("could not e-mail the admins of operator %s", endpoint.operator_id)
        return 0


def endpoint_deliver(*, endpoint_id: int, limit: int = RUN_LIMIT) -> RunResult:
    """Send what the endpoint has due, oldest first, until its queue is empty, its head is
    waiting for a retry, or ``limit`` sends."""
    result = RunResult()
    sends = 0
    while sends < limit:
        with transaction.atomic():
            endpoint = (
                WebhookEndpoint.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk=endpoint_id)
                .first()
            )
            if endpoint is None:
                result.busy = WebhookEndpoint.objects.filter(pk=endpoint_id).exists()
                return result
            if not endpoint.is_active:
                return result
            head = queue_head(endpoint.pk)
            if head is not None and head.next_attempt_at <= timezone.now():
                sends += 1
                ended = _record(endpoint, head, _attempt(endpoint, head))
                if ended == DeliveryStatus.DELIVERED:
                    result.delivered += 1
                elif ended == DeliveryStatus.FAILED:
                    result.failed += 1
                else:
                    result.retry_at = head.next_attempt_at
                    return result
                continue
        # Nothing due under the lock. A delivery committed while it was held had its task
        # turned away as busy: look once more, now that the lock is released.
        head = queue_head(endpoint_id)
        if head is None or head.next_attempt_at > timezone.now():
            return result
    result.more = True
    return result


def endpoints_overdue_ids(*, now: datetime | None = None) -> list[int]:
    """Active endpoints whose pending deliveries are overdue by more than SWEEP_AFTER_SECONDS
    (the task that should have sent them was lost)."""
    now = now or timezone.now()
    before = now - timedelta(seconds=webhook_settings()["SWEEP_AFTER_SECONDS"])
    return list(endpoints_overdue(before=before).order_by("id").values_list("id", flat=True))
