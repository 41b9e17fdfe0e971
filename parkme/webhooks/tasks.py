"""Webhook tasks (notifications queue): thin wrappers over parkme.webhooks.delivery."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from parkme.webhooks import delivery
from parkme.webhooks.queue import endpoint_enqueue


# ignore_result: the outcome lives on the delivery rows.
@shared_task(name="webhooks.deliver_endpoint", ignore_result=True)
def deliver_endpoint(endpoint_id: int) -> dict:
    """Deliver the endpoint's due events in order. Safe to run twice or concurrently: one
    run holds the endpoint, the others return at once. Schedules its own retry when the
    head of the queue failed and waits for its next attempt."""
    result = delivery.endpoint_deliver(endpoint_id=endpoint_id)
    if result.retry_at is not None:
        wait = (result.retry_at - timezone.now()).total_seconds()
        endpoint_enqueue(endpoint_id, countdown=max(wait, 0.0))
    elif result.more:
        endpoint_enqueue(endpoint_id)
    return {"delivered": result.delivered, "failed": result.failed, "busy": result.busy}


@shared_task(name="webhooks.deliver_pending")
def deliver_pending() -> int:
    """The webhook sweep (every minute): hand every endpoint with overdue pending deliveries
    (broker down at commit, worker killed, a retry lost) to a worker again."""
    ids = delivery.endpoints_overdue_ids()
    for endpoint_id in ids:
        endpoint_enqueue(endpoint_id)
    return len(ids)
