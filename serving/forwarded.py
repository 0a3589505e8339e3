"""The client address and scheme of a request, from X-Forwarded-For / X-Forwarded-Proto only
when the connecting peer is a trusted proxy (FORWARDED_ALLOW_IPS; default: nobody).

uvicorn's own proxy handling is switched off (app.uvicorn_config): its default trusts loopback, so
anything on the host could pick its own address and with it a fresh rate-limit bucket. Doing it
here keeps the rule in the app, the same under any ASGI server, with the setting validated at
startup. RFC 7239 `Forwarded` is not read (nginx, HAProxy, Caddy and the cloud balancers all
send X-Forwarded-For); a proxy that sends only `Forwarded` leaves every client with its address.

`ForwardedHeadersMiddleware` resolves the address once per connection scope and writes it into
`scope["client"]`; `client_address(scope)` is how everything else (the per-address rate limits)
reads it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN_CLIENT = "unknown"


def _parse_ip(value: str) -> IPAddress | None:
    """An address as it appears in a peer tuple or an X-Forwarded-For hop: bare, `v4:port`,
    or `[v6]:port`. IPv4-mapped IPv6 (a dual-stack listener's view of an IPv4 peer) is read as
    the IPv4 address it carries. None for anything else (`unknown`, obfuscated names)."""
    text = value.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> TrustedProxies:
        """Addresses or CIDR networks (Settings has validated them)."""
        return cls(tuple(ipaddress.ip_network(entry.strip()) for entry in entries))

    def trusts(self, ip: IPAddress | None) -> bool:
        return ip is not None and any(ip in network for network in self.networks)

    def resolve(
        self,
        peer: str | None,
        forwarded_for: Sequence[str],
        forwarded_proto: Sequence[str],
        scheme: str,
    ) -> tuple[str, str]:
        """(client address, scheme). From an untrusted peer: the peer and the scheme of the
        connection, whatever the headers say. From a trusted one: X-Forwarded-For read from the
        right (each proxy appends the address it saw), skipping trusted proxies; the first
        other hop is the client. Hops left of it were written by the client and are ignored. A
        hop that is not an address stops the walk at the last proxy, so a malformed header
        shares the proxy's bucket rather than choosing a new one."""
        peer_ip = _parse_ip(peer) if peer else None
        if not self.trusts(peer_ip):
            return (str(peer_ip) if peer_ip else (peer or UNKNOWN_CLIENT)), scheme
        assert peer_ip is not None
        client: IPAddress = peer_ip
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            ip = _parse_ip(hop)
            if ip is None:
                break
            client = ip
            if not self.trusts(ip):
                break
        return str(client), _forwarded_scheme(forwarded_proto, scheme)


def _forwarded_scheme(values: Sequence[str], scheme: str) -> str:
    """The last proxy's X-Forwarded-Proto (the rightmost value), if it is http or https; a
    websocket scope gets ws / wss."""
    tokens = [token.strip().lower() for value in values for token in value.split(",")]
    proto = tokens[-1] if tokens else ""
    if proto not in ("http", "https"):
        return scheme
    if scheme in ("ws", "wss"):
        return "wss" if proto == "https" else "ws"
    return proto


class ForwardedHeadersMiddleware:
    """Rewrites `scope["client"]` (port 0: a forwarded hop's port means nothing here) and
    `scope["scheme"]` for HTTP and websocket scopes. The outermost middleware, so everything
    inside (the GraphQL context and its rate limits included) sees the same address."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = TrustedProxies.parse(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded_for: list[str] = []
            forwarded_proto: list[str] = []
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    forwarded_proto.append(value.decode("latin-1"))
            peer = scope.get("client")
            peer_host = str(peer[0]) if peer else None
            host, scheme = self.trusted.resolve(
                peer_host, forwarded_for, forwarded_proto, scope["scheme"]
            )
            if host != peer_host:
                scope["client"] = (host, 0)
            scope["scheme"] = scheme
        await self.app(scope, receive, send)


def client_address(scope: Scope) -> str:
    """The client's address for per-address limits: the one ForwardedHeadersMiddleware
    resolved (the peer when no trusted proxy forwarded the request)."""
    client = scope.get("client")
    return str(client[0]) if client else UNKNOWN_CLIENT
