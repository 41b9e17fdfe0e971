"""Signing webhook bodies: ``ParkMe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC key is the endpoint's secret and the message is ``"<t>.<body>"`` (the exact bytes
sent). During a secret roll the header carries one ``v1=`` per secret still signing; a
receiver accepts the body when any of them matches and ``t`` is recent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "ParkMe-Signature"
EVENT_ID_HEADER = "ParkMe-Event-Id"
EVENT_TYPE_HEADER = "ParkMe-Event-Type"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: Iterable[str], body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={signature(s, t, body)}" for s in secrets_)])


def signature_verify(
    secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300, now: float | None = None
) -> bool:
    """What a receiver does: a v1 signature matches and t is within the tolerance."""
    parts = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in parts if key == "t"]
    candidates = [value for key, _, value in parts if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not candidates:
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance_seconds:
        return False
    expected = signature(secret, t, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
