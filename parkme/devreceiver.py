"""The demo's webhook receiver, for development only: ``manage.py demo_receiver``, which
``make run`` starts next to the web, worker and beat processes.

``seed_demo`` points Demo Central Parking's demo endpoint at ``demo_receiver_url()``:
127.0.0.1, port ``DEMO_WEBHOOK_PORT`` (by default ``PORT`` + 1, so 8001), path ``/hooks``;
the command listens where that endpoint points. Each POST's ``ParkMe-Signature`` is checked
like any receiver should, with the secrets of the endpoints that point here, read from the
database on every request (a secret rolled in the admin works at once). A signed event is
printed as one line and answered 204; anything else is printed as refused and answered
400, so the admin shows the delivery as failed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from parkme.webhooks.models import WebhookEndpoint
from parkme.webhooks.services import signing_secrets
from parkme.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_verify

DEMO_WEBHOOK_PATH = "/hooks"
DEFAULT_WEB_PORT = 8000


def demo_receiver_port() -> int:
    """``DEMO_WEBHOOK_PORT``, else the web server's ``PORT`` + 1."""
    explicit = os.environ.get("DEMO_WEBHOOK_PORT", "").strip()
    if explicit:
        return int(explicit)
    return int(os.environ.get("PORT", "").strip() or DEFAULT_WEB_PORT) + 1


def demo_receiver_url(port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or demo_receiver_port()}{DEMO_WEBHOOK_PATH}"


def endpoint_secrets(url: str, now: datetime) -> list[str]:
    """The secrets that sign what ParkMe sends to ``url`` now (every endpoint pointing
    there, active or not: a delivery in flight may come from one just disabled)."""
    found: list[str] = []
    for endpoint in WebhookEndpoint.objects.filter(url=url).order_by("id"):
        found.extend(signing_secrets(endpoint, now))
    return found


def _summary(event: dict[str, Any]) -> str:
    """What one line says of an event: its type, operator and the resource's reference
    and status when it has them."""
    data = event.get("data")
    if not isinstance(data, dict):
        data = {}
    parts = [str(event.get("type", "?")), str(event.get("operator", ""))]
    for key in ("reference", "status", "action", "reason"):
        if data.get(key):
            parts.append(f"{key}={data[key]}")
    return " ".join(part for part in parts if part)


class DemoReceiver:
    """A threaded HTTP server on ``host:port`` (0: any free port) that verifies and logs
    ParkMe's webhook deliveries; ``write`` gets each log line."""

    def __init__(
        self,
        port: int,
        *,
        write: Callable[[str], None],
        host: str = "127.0.0.1",
        secrets_for: Callable[[str, datetime], list[str]] = endpoint_secrets,
    ) -> None:
        receiver = self
        self._write_lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, line = receiver.receive(self.path, dict(self.headers.items()), body)
                receiver.log(line)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # one line per event is printed by receive()

        self._host = host
        self._secrets_for = secrets_for
        self._write = write
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.server.server_address[1]}{DEMO_WEBHOOK_PATH}"

    def log(self, line: str) -> None:
        with self._write_lock:
            self._write(line)

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """(HTTP status, log line) for one POST."""
        if path.split("?")[0] != DEMO_WEBHOOK_PATH:
            return 404, f"refused: no receiver at {path}"
        close_old_connections()
        try:
            secrets = self._secrets_for(self.url, timezone.now())
        finally:
            # Each request has a thread of its own: leave no connection behind.
            connections.close_all()
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
        event_id = next((v for k, v in headers.items() if k.lower() == EVENT_ID_HEADER.lower()), "")
        if not secrets:
            return 400, f"refused {event_id or 'a request'}: no endpoint points at {self.url}"
        if not any(signature_verify(secret, header, body) for secret in secrets):
            return 400, f"refused {event_id or 'a request'}: bad or missing signature"
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return 400, f"refused {event_id}: signed, but not a JSON object"
        return 204, f"received {event.get('id', event_id)} {_summary(event)}"

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted; the socket is closed on the way out."""
        try:
            self.server.serve_forever()
        finally:
            self.server.server_close()
