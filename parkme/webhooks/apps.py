from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "parkme.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from parkme.webhooks import checks  # noqa: F401 - registers the deploy check
