"""The SSRF guard: webhook targets are http(s) URLs on public addresses only.

Loopback, link-local, private, reserved, multicast and unspecified addresses are
refused unless ``HUSHCAST_WEBHOOK_ALLOW_PRIVATE=true``. The URL is checked when it is
saved and again at every delivery: the dispatcher's resolver refuses a host that now
resolves to a private address (DNS rebinding), and connects only to the addresses it
checked.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

MAX_URL = 2000


class UnsafeTarget(ValueError):
    """The URL may not be a webhook target; the message says why."""


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_global
        and not (
            ip.is_loopback
            or ip.is_link_local
            or ip.is_private
            or ip.is_reserved
            or ip.is_multicast
            or ip.is_unspecified
        )
    )


def check_url(url: str, allow_private: bool) -> str:
    """The URL's host, if the URL's form is acceptable; UnsafeTarget otherwise.
    A literal IP address is checked here; a name is checked when resolved."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise UnsafeTarget(f"url must be an http(s) URL of at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeTarget("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("url is not a valid URL") from exc
    del port
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("url must use http or https")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("url must name a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("url must not carry credentials")
    if allow_private:
        return host
    literal = _literal_ip(host)
    if literal is not None and not is_public(literal):
        raise UnsafeTarget("url points to a loopback, link-local or private address")
    if host.lower() in ("localhost",) or host.lower().endswith(".localhost"):
        raise UnsafeTarget("url points to a loopback, link-local or private address")
    return host


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def resolve_and_check(host: str, allow_private: bool) -> None:
    """Saving a webhook: a host that resolves must resolve to public addresses only.
    One that does not resolve (yet) is accepted: every delivery checks again."""
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return
    for info in infos:
        if not is_public(str(info[4][0])):
            raise UnsafeTarget("url points to a loopback, link-local or private address")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing every answer that holds a non-public address."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for r in results:
            if not is_public(str(r["host"])):
                raise OSError(f"webhook host {host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def connector_args(allow_private: bool) -> dict[str, Any]:
    return {} if allow_private else {"resolver": GuardedResolver()}
