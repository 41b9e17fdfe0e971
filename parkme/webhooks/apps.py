from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "parkme.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
