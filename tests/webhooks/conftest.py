from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from parkme.models import Operator
from parkme.webhooks.events import EventType
from parkme.webhooks.models import WebhookEndpoint
from parkme.webhooks.signing import secret_new
from tests.api.conftest import (  # noqa: F401 - fixtures, found by name
    alice_car,
    api,
    as_user,
    bob_car,
    device_of,
    garage,
)
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def fast_retries(settings) -> dict:
    """Retries a test can wait for: a few tens of milliseconds apart, a short timeout."""
    settings.PARKME_WEBHOOKS = {
        **settings.PARKME_WEBHOOKS,
        "RETRY_BASE_SECONDS": 0.02,
        "RETRY_MAX_SECONDS": 0.05,
        "TIMEOUT_SECONDS": 0.5,
    }
    return settings.PARKME_WEBHOOKS


def make_endpoint(
    operator: Operator, url: str, *, types: list[str] | None = None, **fields
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        operator=operator,
        url=url,
        event_types=types if types is not None else list(EventType.values),
        secret=secret_new(),
        **fields,
    )


@pytest.fixture
def endpoint_for(db) -> Callable[..., WebhookEndpoint]:
    return make_endpoint
