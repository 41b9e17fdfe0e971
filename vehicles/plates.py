"""Licence plate normalisation: upper case, no spaces or dashes."""

import re

_STRIP = re.compile(r"[\s\-]+")
_VALID = re.compile(r"^[^\W_]{1,15}$")


def normalize_plate(plate: str) -> str:
    return _STRIP.sub("", plate or "").upper()


def is_valid_normalized_plate(normalized: str) -> bool:
    """Letters and digits only (any alphabet), 1-15 of them."""
    return bool(_VALID.match(normalized))
