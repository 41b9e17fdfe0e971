"""Quote tokens: a quoted total that a booking may keep for a while.

A quote answers with a token signed by the server (Django's signing, keyed by SECRET_KEY)
that names the facility, the window, the spot kind, the rate version and the total. A
booking that sends it back within QUOTE_TOKEN_MINUTES pays that total even if the board
changed in between; a token for another facility, window or kind is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing

from facilities.windows import Window
from parkme.errors import QuoteExpired, ValidationFailed

_SALT = "parkme.quote-token"


def quote_token_minutes() -> int:
    return int(getattr(settings, "QUOTE_TOKEN_MINUTES", 15))


@dataclass(frozen=True)
class QuotedPrice:
    facility_id: int
    window: Window
    kind: str
    version_id: int
    currency: str
    total: Decimal


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def quote_token_issue(quoted: QuotedPrice, *, now: datetime) -> tuple[str, datetime]:
    """The signed token of a quote and when it stops being honoured."""
    payload = {
        "f": quoted.facility_id,
        "s": _utc(quoted.window.starts_at),
        "e": _utc(quoted.window.ends_at),
        "k": quoted.kind,
        "v": quoted.version_id,
        "c": quoted.currency,
        "t": str(quoted.total),
    }
    token = signing.dumps(payload, salt=_SALT, compress=True)
    return token, now + timedelta(minutes=quote_token_minutes())


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"quote_token": [message]})


def quote_token_read(token: str, *, facility_id: int, window: Window, kind: str) -> QuotedPrice:
    """The quote a token carries, if it is genuine, still fresh, and for this facility,
    window and kind: otherwise 409 ``quote_expired`` or a 400 on ``quote_token``."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=timedelta(minutes=quote_token_minutes()))
    except signing.SignatureExpired as exc:
        raise QuoteExpired() from exc
    except signing.BadSignature as exc:
        raise _refused("This is not a quote token ParkMe issued.") from exc
    same = (
        payload.get("f") == facility_id
        and payload.get("s") == _utc(window.starts_at)
        and payload.get("e") == _utc(window.ends_at)
        and payload.get("k") == kind
    )
    if not same:
        raise _refused("The quote was for another facility, window or spot kind.")
    return QuotedPrice(
        facility_id=facility_id,
        window=window,
        kind=kind,
        version_id=int(payload["v"]),
        currency=str(payload["c"]),
        total=Decimal(payload["t"]),
    )
