"""The SSRF guard: where an endpoint may point.

An endpoint's host is resolved when each delivery is made and every address it resolves to
is checked; the connection then goes to the checked address (so a DNS answer cannot change
between the check and the connect). Private, loopback, link-local, multicast, reserved and
unspecified addresses (IPv4 and IPv6, IPv4-mapped included) are refused, and so is plain
http, unless ``WEBHOOK_ALLOW_PRIVATE_URLS`` is on (development and tests).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL may not be called; the message says why (it is the delivery's error)."""


def private_urls_allowed() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_URLS)


def _forbidden(address: IPAddress) -> str | None:
    """Why this address may not be called, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _forbidden(address.ipv4_mapped)
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    if not address.is_global:
        return "non-public"
    return None


def url_parts(url: str) -> SplitResult:
    """The URL's parts when its form is one ParkMe calls; AddressRefused otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise AddressRefused(f"refused: {exc}") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise AddressRefused("refused: the URL must be https://host/…")
    if parts.username or parts.password:
        raise AddressRefused("refused: credentials in the URL are not allowed")
    if parts.scheme == "http" and not private_urls_allowed():
        raise AddressRefused("refused: only https URLs are allowed")
    return parts


def url_check(url: str) -> None:
    """At save time: the URL's form, and a host that is an address literal must be public.
    (Names are resolved at delivery time, where the guard applies again.)"""
    parts = url_parts(url)
    if private_urls_allowed():
        return
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        if (parts.hostname or "").lower() == "localhost":
            raise AddressRefused("refused: localhost is a loopback address") from None
        return
    if why := _forbidden(address):
        raise AddressRefused(f"refused: {address} is a {why} address")


def resolve(parts: SplitResult) -> tuple[str, int]:
    """The address to connect to for these URL parts (checked), and the port."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"cannot resolve {host}")
    if not private_urls_allowed():
        for address in addresses:
            if why := _forbidden(address):
                raise AddressRefused(f"refused: {host} resolves to {address}, a {why} address")
    return str(addresses[0]), port
