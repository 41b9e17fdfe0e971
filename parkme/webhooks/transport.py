"""One POST to an endpoint: to the address the SSRF guard checked, within the timeout (5 s:
connecting, sending and the answer's headers together), redirects not followed (a 3xx is a
failed attempt); the response's status, latency and first bytes."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from parkme.webhooks.addresses import AddressRefused, resolve, url_parts

USER_AGENT = "ParkMe-Webhooks/1"
EXCERPT_BYTES = 500


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status: int | None = None
    latency_ms: int | None = None
    error: str = ""
    excerpt: str = ""


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> PostResult:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        parts = url_parts(url)
        address, port = resolve(parts)
    except AddressRefused as exc:
        return PostResult(ok=False, error=str(exc))
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", port, timeout=timeout)
    # Connect to the checked address; Host and TLS server name stay the URL's host.
    connection._create_connection = (  # type: ignore[attr-defined]
        lambda _address, timeout_, source=None: socket.create_connection(
            (address, port), timeout_, source
        )
    )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        # What is left of the timeout is all the answer gets.
        left = timeout - (time.monotonic() - started)
        if left <= 0 or connection.sock is None:
            raise TimeoutError
        connection.sock.settimeout(left)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
    except TimeoutError:
        return PostResult(ok=False, latency_ms=elapsed(), error=f"timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return PostResult(ok=False, latency_ms=elapsed(), error=f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
    latency = elapsed()
    if 200 <= response.status < 300:
        return PostResult(ok=True, status=response.status, latency_ms=latency, excerpt=excerpt)
    error = f"HTTP {response.status}"
    if 300 <= response.status < 400:
        error += f": redirect to {response.getheader('Location', '?')} not followed"
    return PostResult(
        ok=False, status=response.status, latency_ms=latency, error=error, excerpt=excerpt
    )
