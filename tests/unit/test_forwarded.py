"""Which address a request comes from (serving/forwarded.py) and the FORWARDED_ALLOW_IPS
setting; the server-level attacks are in tests/api/test_security_network.py."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.forwarded import TrustedProxies
from settings import Settings

PROXIES = TrustedProxies.parse(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])


def test_nobody_is_trusted_by_default() -> None:
    assert Settings().forwarded_allow_ips == []
    nobody = TrustedProxies.parse([])
    assert nobody.resolve("127.0.0.1", ["198.51.100.7"], ["https"], "http") == (
        "127.0.0.1",
        "http",
    )


def test_an_untrusted_peer_is_the_client_whatever_it_sends() -> None:
    assert PROXIES.resolve("192.0.2.1", ["198.51.100.7"], ["https"], "http") == (
        "192.0.2.1",
        "http",
    )


def test_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    hops = ["203.0.113.66, 198.51.100.7", "10.0.0.2"]  # two headers: joined in order
    assert PROXIES.resolve("127.0.0.1", hops, [], "http")[0] == "198.51.100.7"


def test_hops_with_ports_and_brackets_and_mapped_addresses_are_read() -> None:
    assert PROXIES.resolve("127.0.0.1", ["198.51.100.7:4711"], [], "http")[0] == "198.51.100.7"
    assert PROXIES.resolve("127.0.0.1", ["[2001:db8::1]:443"], [], "http")[0] == "2001:db8::1"
    # A dual-stack listener shows an IPv4 proxy as ::ffff:a.b.c.d: still trusted.
    assert PROXIES.resolve("::ffff:10.1.1.1", ["198.51.100.7"], [], "http")[0] == "198.51.100.7"


def test_a_hop_that_is_not_an_address_leaves_the_last_proxy_as_the_client() -> None:
    # Garbage cannot choose a fresh bucket: it shares the proxy's.
    assert PROXIES.resolve("127.0.0.1", ["198.51.100.7, unknown"], [], "http")[0] == "127.0.0.1"
    assert PROXIES.resolve("127.0.0.1", ["bogus, 10.0.0.9"], [], "http")[0] == "10.0.0.9"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert PROXIES.resolve("127.0.0.1", ["10.0.0.5, 10.0.0.6"], [], "http")[0] == "10.0.0.5"
    assert PROXIES.resolve("127.0.0.1", [], [], "http")[0] == "127.0.0.1"


def test_the_last_proxys_scheme_is_used_for_http_and_websockets() -> None:
    assert PROXIES.resolve("127.0.0.1", [], ["http, https"], "http")[1] == "https"
    assert PROXIES.resolve("127.0.0.1", [], ["https"], "ws")[1] == "wss"
    assert PROXIES.resolve("127.0.0.1", [], ["gopher"], "http")[1] == "http"


def test_the_setting_reads_a_comma_separated_list_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", " 10.0.0.0/8, 192.0.2.10 ,::1")
    assert Settings().forwarded_allow_ips == ["10.0.0.0/8", "192.0.2.10", "::1"]


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.1/8", "10.0.0.0/33"])
def test_the_setting_refuses_what_is_not_an_address_or_network(value: str) -> None:
    with pytest.raises(ValidationError, match="forwarded_allow_ips"):
        Settings(forwarded_allow_ips=value)
