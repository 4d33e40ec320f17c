"""Which addresses count as public for webhooks, and the URL rules that need no resolver."""

from __future__ import annotations

import ipaddress

import pytest

from referralnet.notifications.outbound import TargetRefused, check_url, non_public
from referralnet.settings import Settings


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"), ("127.8.9.10", "a loopback address"), ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"), ("10.0.0.1", "a private address"), ("172.16.5.4", "a private address"),
        ("192.168.0.1", "a private address"), ("fc00::1", "a private address"), ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"), ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"), ("224.0.0.251", "a multicast address"), ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"), ("::", "an unspecified address"),
        ("100.64.0.1", "a reserved (non-public) address"), ("240.0.0.1", "a private address"),
    ],
)  # fmt: skip
def test_internal_addresses_are_named(address: str, why: str) -> None:
    assert non_public(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2a00:1450:4001:82b::200e", "::ffff:93.184.216.34"])
def test_public_addresses_pass(address: str) -> None:
    assert non_public(ipaddress.ip_address(address)) is None


async def test_checked_target_keeps_host_port_path_and_query() -> None:
    target = await check_url("https://93.184.216.34:8443/hooks/x?org=3", Settings())
    assert (target.url, target.host_header, target.sni, target.address) == (
        "https://93.184.216.34:8443/hooks/x?org=3", "93.184.216.34:8443", None, "93.184.216.34"
    )
    six = await check_url("https://[2a00:1450:4001:82b::200e]/h", Settings())
    assert six.url == "https://[2a00:1450:4001:82b::200e]/h" and six.host_header == "[2a00:1450:4001:82b::200e]"


async def test_http_only_where_allowed_and_other_schemes_never() -> None:
    with pytest.raises(TargetRefused, match="must use https"):
        await check_url("http://93.184.216.34/h", Settings())
    assert (await check_url("http://93.184.216.34/h", Settings(webhook_allow_http=True))).url == "http://93.184.216.34/h"
    with pytest.raises(TargetRefused, match="must start with https"):
        await check_url("ftp://93.184.216.34/h", Settings(webhook_allow_http=True))
    with pytest.raises(TargetRefused, match="loopback"):
        await check_url("http://127.0.0.1:9/h", Settings(webhook_allow_http=True, webhook_allow_hosts="localhost"))
    allowed = Settings(webhook_allow_http=True, webhook_allow_hosts="localhost, [::1] 127.0.0.1")
    assert (await check_url("http://127.0.0.1:9/h", allowed)).address == "127.0.0.1"
    assert (await check_url("https://[::1]/h", allowed)).address == "::1"


@pytest.mark.parametrize("host", ["0" * 300, "a" * 64 + ".example.org", "xn--.example.org"])
async def test_a_host_no_resolver_can_take_is_refused_not_an_error(host: str) -> None:
    with pytest.raises(TargetRefused, match="could not be resolved"):
        await check_url(f"https://{host}/h", Settings())
