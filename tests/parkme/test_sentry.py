"""Sentry receives unexpected errors tagged with the request id, and no personal data.

Sentry itself is outside the machine, so a small HTTP server on 127.0.0.1 stands in for
its ingest endpoint; the SDK's real transport sends to it."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from django.test import Client

from parkme.observability import init_sentry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sentry_ingest():
    """Collects the envelopes the SDK posts; yields (dsn, received raw bodies)."""
    received: list[bytes] = []

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/42", received
    finally:
        sentry_sdk.init()  # no DSN: later tests send nothing
        server.shutdown()


def _events(received: list[bytes]) -> list[dict]:
    """The event items of the envelopes (header line, then item header + payload pairs)."""
    events = []
    for body in received:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_an_unexpected_error_reaches_sentry_tagged_with_the_request_id_without_pii(
    sentry_ingest, settings
):
    dsn, received = sentry_ingest
    settings.ROOT_URLCONF = "tests.parkme.sentry_urls"
    init_sentry(dsn=dsn, release="parkme@1.2.3", environment="staging", traces_sample_rate=0.0)
    assert {"django", "celery", "redis"} <= set(sentry_sdk.get_client().integrations)

    driver = UserFactory(email="secret.driver@example.test")
    client = Client(raise_request_exception=False)
    client.force_login(driver)
    response = client.get(
        "/broken/?plate=ABC-123",
        HTTP_X_REQUEST_ID="trace-sentry-1",
        HTTP_AUTHORIZATION="Bearer secret-token-value",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    sentry_sdk.flush(timeout=10)

    events = _events(received)
    assert len(events) == 1
    event = events[0]
    assert event["tags"]["request_id"] == "trace-sentry-1"
    assert event["release"] == "parkme@1.2.3"
    assert event["environment"] == "staging"
    assert "the flux capacitor is out of sync" in json.dumps(event["exception"])
    raw = b"".join(received).decode()
    assert "secret.driver@example.test" not in raw
    for personal in ("203.0.113.9", "ABC-123", "secret-token-value", "sessionid"):
        assert personal not in raw, raw[max(0, raw.find(personal) - 300) : raw.find(personal) + 50]
