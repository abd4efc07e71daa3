"""Which webhook URLs Spindle calls: http(s) only, and (SSRF) never a loopback, private,
link-local or otherwise internal address unless SPINDLE_WEBHOOK_ALLOW_PRIVATE is set."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import InvalidInput

MAX_URL_LENGTH = 4096


class WebhookRefused(InvalidInput):
    """A webhook URL that the policy refuses (422 on the request that names it)."""


def webhook_url_check(url: str, *, resolve: bool = True) -> None:
    """Raise WebhookRefused unless `url` is an http(s) URL whose host is (or, with
    `resolve`, resolves only to) public addresses, or private ones are allowed.

    Resolving looks the name up (no connection is made); a name that does not resolve
    is refused only when sending, not on the request, where DNS may differ."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookRefused("Webhook URL too long")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise WebhookRefused("Webhook must be an absolute http or https URL")
    host = parts.hostname or ""
    if not host:
        raise WebhookRefused(f"Invalid webhook hostname '{host}'")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise WebhookRefused("Invalid webhook port") from None
    if settings.SPINDLE_WEBHOOK_ALLOW_PRIVATE:
        return
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        raise WebhookRefused(f"Webhook host blocked: {host} is a loopback address")
    for address in _addresses(host, port, resolve=resolve):
        if not address.is_global or address.is_multicast:
            raise WebhookRefused(
                f"Webhook host blocked: {host} is a private, loopback or reserved address ({address}); "
                "set SPINDLE_WEBHOOK_ALLOW_PRIVATE=1 to allow it"
            )


def _addresses(
    host: str, port: int, *, resolve: bool
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        if isinstance(literal, ipaddress.IPv6Address) and literal.ipv4_mapped is not None:
            return [literal.ipv4_mapped]
        return [literal]
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"Webhook host {host} does not resolve: {exc}") from None
    found = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        found.append(address)
    return found
