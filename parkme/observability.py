"""Sentry set-up: Django, Celery and Redis integrations, no personal data sent."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.redis import RedisIntegration


def strip_personal_data(event: dict, hint: dict) -> dict:
    """Plates, e-mails and tokens can travel in query strings, bodies and cookies (admin
    searches, API bodies), so none of those leave the process; neither does a user block."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("query_string", "data", "cookies", "env"):
            request.pop(key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    event.pop("user", None)
    return event


def init_sentry(*, dsn: str, release: str, environment: str, traces_sample_rate: float) -> None:
    # send_default_pii is left at its default (off): the SDK sends no user, IP or cookies.
    sentry_sdk.init(
        dsn=dsn,
        release=release or None,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        before_send=strip_personal_data,
        include_local_variables=False,  # a frame's locals may hold plates, e-mails, tokens
        integrations=[DjangoIntegration(), CeleryIntegration(), RedisIntegration()],
    )
