"""Handing an endpoint's queue to a worker. Tasks are sent by name: the task module calls
the services that call these, so importing it here would close a circle."""

from __future__ import annotations

import logging
from functools import partial

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver_endpoint"


def endpoint_enqueue(endpoint_id: int, *, countdown: float | None = None) -> None:
    """Ask a worker to deliver what the endpoint has due; never raises (the sweep re-queues
    whatever is left pending)."""
    try:
        current_app.send_task(
            DELIVER_TASK, args=[endpoint_id], countdown=countdown, ignore_result=True
        )
    except Exception:  # noqa: BLE001 - any broker failure: the webhook sweep re-queues it
        logger.warning(
            "could not enqueue webhook delivery for endpoint %s; the sweep will",
            endpoint_id,
            exc_info=True,
        )


def endpoints_enqueue_on_commit(endpoint_ids: set[int]) -> None:
    for endpoint_id in sorted(endpoint_ids):
        transaction.on_commit(partial(endpoint_enqueue, endpoint_id))
