"""The webhook backlog as Prometheus series (added to parkme.metrics when the app starts;
`/monitoring/stats/` shows selectors.delivery_backlog itself)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from parkme.webhooks.selectors import delivery_backlog


def backlog_gauges() -> Iterator[Metric]:
    backlog = delivery_backlog()
    deliveries = GaugeMetricFamily(
        "parkme_webhook_deliveries",
        "Webhook deliveries waiting (pending) or given up on (failed).",
        labels=["status"],
    )
    deliveries.add_metric(["pending"], backlog["pending"])
    deliveries.add_metric(["failed"], backlog["failed"])
    yield deliveries
    yield GaugeMetricFamily(
        "parkme_webhook_oldest_pending_age_seconds",
        "Age of the oldest pending webhook delivery (0 when none).",
        value=backlog["oldest_pending_age_seconds"],
    )
    yield GaugeMetricFamily(
        "parkme_webhook_endpoints_disabled",
        "Webhook endpoints disabled after repeated failures and not re-activated.",
        value=backlog["endpoints_disabled"],
    )
