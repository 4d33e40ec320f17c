"""Where webhooks may go: https only, to public addresses only, checked when saved and at each delivery.

A URL is refused when its host resolves to any loopback, private, link-local (with the cloud
metadata addresses 169.254.169.254 and fd00:ec2::254), multicast, unspecified or otherwise
non-public address, unless the host is listed in ``REFERRALNET_WEBHOOK_ALLOW_HOSTS``. Plain http
needs ``REFERRALNET_WEBHOOK_ALLOW_HTTP``. A delivery connects to the very address that was checked
(the Host header and the TLS server name stay the URL's host), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot send it elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import msgspec

from referralnet.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_SECONDS = 5.0
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
    )
)
HINT = "list the host in REFERRALNET_WEBHOOK_ALLOW_HOSTS to allow it"


class TargetRefused(ValueError):
    """The URL may not be called; the message says why, naming no internal address."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A checked URL: ``url`` names the checked address; ``host_header`` and ``sni`` keep the URL's host."""

    url: str
    host_header: str
    sni: str | None
    address: str


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """``REFERRALNET_WEBHOOK_ALLOW_HOSTS``: host names or addresses, comma- or space-separated."""
    raw = settings.webhook_allow_hosts.replace(",", " ").split()
    return frozenset(_normal_host(h) for h in raw)


def _normal_host(host: str) -> str:
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def non_public(address: IPAddress) -> str | None:
    """Why ``address`` is not a public Internet address (as words), or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return "a cloud metadata address"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
    )
    for attribute, words in checks:
        if getattr(address, attribute):
            return words
    if not address.is_global:
        return "a reserved (non-public) address"
    return None


async def lookup(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host`` (tests replace this to play an attacker's DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for *_, sockaddr in infos]


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            answers = await lookup(host, port)
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: UnicodeError of a label IDNA cannot encode
        raise TargetRefused("the host could not be resolved") from exc
    found: list[IPAddress] = []
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise TargetRefused("the host could not be resolved")
    return found


async def check_url(url: str, settings: Settings) -> Target:
    """Check ``url`` as a webhook target now; raise TargetRefused with the reason otherwise.

    Every address the host resolves to must be public (an attacker's DNS may answer several);
    the first one is the one to connect to.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("the URL is not valid") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("a webhook URL must start with https://")
    if scheme == "http" and not settings.webhook_allow_http:
        raise TargetRefused("a webhook URL must use https (plain http only where REFERRALNET_WEBHOOK_ALLOW_HTTP is set)")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("a webhook URL must not carry a user name or password; the body is signed instead")
    host = _normal_host(parts.hostname or "")
    if not host:
        raise TargetRefused("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    addresses = await _resolve(host, port)
    if host not in allowed_hosts(settings):
        for address in addresses:
            reason = non_public(address)
            if reason:
                raise TargetRefused(f"the host {host} resolves to {reason}; webhooks go to public addresses only ({HINT})")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rpartition("@")[2]
    return Target(
        url=urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")),
        host_header=host_header,
        sni=host if scheme == "https" and host != str(address) else None,
        address=str(address),
    )
