"""The HTTP client webhooks are sent with: it connects only to addresses that passed the SSRF
check, and to exactly those.

Checking a name and then letting the HTTP client resolve it again when it connects leaves a
window (DNS rebinding): the second answer can be 127.0.0.1. Here the check is made inside the
network backend httpcore connects through: the host is resolved once, every address is
classified (domain/webhooks.py `is_public_address`), and the TCP connection goes to one of those
very addresses. The URL, the Host header and TLS (SNI and certificate verification) keep the
host name, since httpcore derives them from the request, not from the socket.

Proxy variables and .netrc are ignored (trust_env=False): a proxy would resolve the name itself,
and the check would mean nothing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import anyio
import httpcore
import httpx

from domain.webhooks import is_public_address


class RefusedAddress(Exception):
    """The URL resolves to an address webhooks may not reach (SSRF guard)."""


class UnresolvableHost(RefusedAddress):
    """The host has no address at all."""


async def resolve(host: str, port: int | None) -> list[str]:
    """Every address of the host, in the resolver's order, each once."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHost(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int | None) -> list[str]:
    """The host's addresses, or RefusedAddress when any one of them is not public (a mixed
    answer is refused: the connection could go to either)."""
    addresses = await resolve(host, port)
    blocked = sorted(a for a in addresses if not is_public_address(a))
    if blocked:
        raise RefusedAddress(f"{host} resolves to a non-public address ({blocked[0]})")
    if not addresses:
        raise UnresolvableHost(f"cannot resolve {host}: no addresses")
    return addresses


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking the host itself."""

    def __init__(self, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None):
        self.allow_private = allow_private
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.allow_private:  # nothing is refused, so there is nothing to pin
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            with anyio.fail_after(timeout):
                addresses = await checked_addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        failure: Exception | None = None
        for address in addresses:  # the resolver's order, as a plain connect would try them
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("webhooks are not sent over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request and response mapping, error mapping) over a connection
    pool that connects through CheckedBackend. httpx takes no network backend argument, so the
    pool it built is replaced; tests/hostile/test_ssrf.py fails if that stops working."""

    def __init__(self, allow_private: bool, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0
        )
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(allow_private),
        )


def checked_client(allow_private: bool, timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=CheckedTransport(allow_private),
        timeout=httpx.Timeout(timeout_seconds, connect=5.0),
        follow_redirects=False,
        trust_env=False,
    )
