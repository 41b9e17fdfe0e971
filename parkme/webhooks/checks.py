"""`manage.py check --deploy`: webhooks must not be able to reach internal addresses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def private_webhook_urls_allowed(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return []
    return [
        checks.Warning(
            "WEBHOOK_ALLOW_PRIVATE_URLS is on: operators' webhook endpoints may point at "
            "http:// URLs and at private, loopback and link-local addresses (this network).",
            hint="Leave WEBHOOK_ALLOW_PRIVATE_URLS unset (off) in production.",
            id="parkme.W001",
        )
    ]
