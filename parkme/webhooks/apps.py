from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "parkme.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from parkme.metrics import add_source
        from parkme.monitoring import add_stats_section
        from parkme.webhooks import checks  # noqa: F401 - registers the deploy check
        from parkme.webhooks.metrics import backlog_gauges
        from parkme.webhooks.selectors import delivery_backlog

        add_source(backlog_gauges)
        add_stats_section("webhooks", delivery_backlog)
