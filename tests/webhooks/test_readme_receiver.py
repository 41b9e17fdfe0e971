"""The README's ten-line receiver works as written: it accepts ParkMe's signed deliveries
and refuses a forged signature, a stale timestamp and a missing header."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from parkme.webhooks.delivery import endpoint_deliver
from parkme.webhooks.models import DeliveryStatus, WebhookDelivery
from parkme.webhooks.services import Event, webhook_emit
from parkme.webhooks.signing import signature_header
from tests import factories
from tests.webhooks.conftest import make_endpoint

README = Path(settings.BASE_DIR) / "README.md"


def readme_receiver() -> str:
    text = README.read_text()
    section = text[text.index("## Webhooks") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def readme_server(db) -> Iterator[tuple[str, str, subprocess.Popen]]:
    secret = "whsec_readme-test-secret"
    code = readme_receiver()
    assert 'SECRET = b"whsec_..."' in code
    code = code.replace('SECRET = b"whsec_..."', f"SECRET = b{secret!r}")
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own README's code
        [sys.executable, "-c", code, str(port)], stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", secret, proc
    proc.kill()
    proc.wait()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_readme_receiver_accepts_parkme_and_refuses_forgeries(readme_server):
    url, secret, proc = readme_server
    assert len(readme_receiver().strip().splitlines()) <= 13
    endpoint = make_endpoint(factories.OperatorFactory(), url)
    endpoint.secret = secret
    endpoint.save()
    webhook_emit(
        [Event(operator_id=endpoint.operator_id, type="gate.entry", data=lambda: {"ok": 1})]
    )

    assert endpoint_deliver(endpoint_id=endpoint.pk).delivered == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert proc.stdout.readline().split() == ["gate.entry", str(delivery.event_id)]

    body = delivery.payload.encode()
    good = signature_header([secret], body)
    assert _post(url, body, {"ParkMe-Signature": good}) == 200
    assert _post(url, body + b" ", {"ParkMe-Signature": good}) == 400
    assert _post(url, body, {"ParkMe-Signature": signature_header(["whsec_other"], body)}) == 400
    stale = signature_header([secret], body, timestamp=int(time.time()) - 360)
    assert _post(url, body, {"ParkMe-Signature": stale}) == 400
    assert _post(url, body, {}) == 400
    assert _post(url, body, {"ParkMe-Signature": "t=abc,v1=zz"}) == 400
