"""The SSRF classifier: which resolved addresses a webhook may connect to. IPv6 forms that carry
an IPv4 address are judged by the address they carry (issue 15, finding 8: 6to4 addresses of
127.0.0.1 and 169.254.169.254 were accepted)."""

from __future__ import annotations

import pytest

from domain.webhooks import is_public_address

PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:2800:220:1::1",
    "::ffff:93.184.216.34",  # IPv4-mapped
    "::ffff:0:5db8:d822",  # SIIT-translated 93.184.216.34
    "::5db8:d822",  # IPv4-compatible 93.184.216.34
    "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
    "64:ff9b::5db8:d822",  # NAT64 well-known prefix, 93.184.216.34
    "2001:0:4136:e378:8000:63bf:a247:27dd",  # Teredo: server 65.54.227.120, client 93.184.216.34
]

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::",
    "fe80::1%eth0",
    "fd00:ec2::254",
    "fec0::1",  # site-local (deprecated, still not public)
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:7f00:1",  # SIIT-translated 127.0.0.1
    "::127.0.0.1",  # IPv4-compatible
    "::a9fe:a9fe",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:7f00:1:1234::1",
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:0a00:0001::",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::5db8:d822",  # NAT64 local-use prefix: never public, whatever it carries
    "64:ff9b:1:ab::7f00:1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:7f00:1:8000:63bf:a247:27dd",  # Teredo, server 127.0.0.1
    "not an address",
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_may_be_reached(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_however_wrapped_are_refused(address: str) -> None:
    assert not is_public_address(address)
