"""Reads: who subscribes to what, and which endpoints have deliveries waiting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from parkme.models import Operator
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True)
class Subscriptions:
    """Operator id → [(endpoint id, its event types)], for the active endpoints of some
    operators that subscribe to any of some types."""

    by_operator: dict[int, list[tuple[int, frozenset[str]]]] = field(default_factory=dict)
    slugs: dict[int, str] = field(default_factory=dict)

    def endpoints(self, operator_id: int, event_type: str) -> list[int]:
        return [
            endpoint_id
            for endpoint_id, types in self.by_operator.get(operator_id, ())
            if event_type in types
        ]

    def wants(self, operator_id: int, event_type: str) -> bool:
        return bool(self.endpoints(operator_id, event_type))

    def __bool__(self) -> bool:
        return bool(self.by_operator)


# Asked on every change (every booking): plain SQL over the partial index of active
# endpoints by operator, a fraction of what building the ORM query costs.
_SUBSCRIBERS_SQL = f"""
    SELECT e.id, e.operator_id, e.event_types, o.slug
    FROM {WebhookEndpoint._meta.db_table} e
    JOIN {Operator._meta.db_table} o ON o.id = e.operator_id
    WHERE e.is_active AND e.operator_id = ANY(%s) AND e.event_types && %s::varchar[]
"""  # noqa: S608 - table names are ours, every value is a parameter


def subscribing_endpoints(event_types: Iterable[str]) -> QuerySet[WebhookEndpoint]:
    """Active endpoints that subscribe to any of these types; narrow it by operator (or, in
    a higher app, by what belongs to an operator) and pass it to ``subscriptions``."""
    return WebhookEndpoint.objects.filter(is_active=True, event_types__overlap=sorted(event_types))


def subscriptions(
    *,
    operator_ids: Iterable[int] = (),
    event_types: Iterable[str],
    endpoints: QuerySet[WebhookEndpoint] | None = None,
) -> Subscriptions:
    """Who subscribes: one indexed query (active endpoints by operator), over the endpoints
    of these operators, or over ``endpoints`` when a caller narrowed them itself."""
    types = set(event_types)
    if not types:
        return Subscriptions()
    rows: Iterable[tuple[int, int, list[str], str]]
    if endpoints is None:
        ids = sorted(set(operator_ids))
        if not ids:
            return Subscriptions()
        with connection.cursor() as cursor:
            cursor.execute(_SUBSCRIBERS_SQL, [ids, sorted(types)])
            rows = cursor.fetchall()
    else:
        rows = endpoints.values_list(
            "id", "operator_id", "event_types", "operator__slug"
        ).distinct()
    result = Subscriptions()
    for endpoint_id, operator_id, event_types_, slug in rows:
        result.by_operator.setdefault(operator_id, []).append(
            (endpoint_id, frozenset(event_types_))
        )
        result.slugs[operator_id] = slug
    return result


def queue_head(endpoint_id: int) -> WebhookDelivery | None:
    """The endpoint's oldest pending delivery: nothing later goes out before it."""
    return (
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING)
        .order_by("id")
        .first()
    )


def endpoints_overdue(*, before: datetime) -> QuerySet[WebhookEndpoint]:
    """Active endpoints with a pending delivery that should have gone out before ``before``:
    its task was lost (broker down at commit, worker killed, retry dropped)."""
    overdue = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=before
    ).values("endpoint_id")
    return WebhookEndpoint.objects.filter(is_active=True, id__in=overdue)


def delivery_backlog(*, now: datetime | None = None) -> dict[str, Any]:
    """What waits and what gave up: pending deliveries (and how old the oldest is), failed
    deliveries, endpoints ParkMe disabled after repeated failures. Each count reads a
    partial index, so its cost follows the backlog, never the delivery history."""
    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count()
    disabled = WebhookEndpoint.objects.filter(is_active=False, disabled_at__isnull=False).count()
    oldest = pending["oldest"]
    return {
        "pending": pending["n"],
        "failed": failed,
        "oldest_pending_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "endpoints_disabled": disabled,
    }
