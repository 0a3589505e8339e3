"""Webhook rules: which URLs may receive events, and how deliveries are signed.

Signature: `X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with
the endpoint's secret. Receivers recompute it over the raw body and reject old timestamps."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from enum import StrEnum
from urllib.parse import SplitResult, urlsplit

from domain.errors import Problems

SECRET_MIN_CHARS = 16
SECRET_MAX_CHARS = 256
URL_MAX = 2000


class WebhookEvent(StrEnum):
    ASSESSMENT_COMPLETED = "assessment.completed"
    ASSESSMENT_FAILED = "assessment.failed"
    # The result changed after it was DONE (a human override of an essay score).
    ASSESSMENT_RESCORED = "assessment.rescored"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (used by tests and documented for integrators)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def host_of(url: str) -> str | None:
    return urlsplit(url).hostname


def check_url(url: str, problems: Problems, *path: str) -> None:
    parts = urlsplit(url.strip())
    if (
        len(url) > URL_MAX
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        # White space and control characters (a NUL cannot even be stored in PostgreSQL) have no
        # place in a URL; urlsplit would quietly drop some of them.
        or not url.isprintable()
        or any(ch.isspace() for ch in url)
    ):
        problems.invalid("The URL must be an http(s) URL with a host.", *path)
    elif parts.username or parts.password:
        problems.invalid("Put credentials in the secret, not in the URL.", *path)
    elif not _valid_host(parts.hostname) or not _valid_port(parts):
        # Checked before anything resolves the host: the resolver raises UnicodeError (not
        # OSError) for a label over 63 characters, which was an INTERNAL error.
        problems.invalid("The URL's host or port is not valid.", *path)


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _valid_host(host: str) -> bool:
    """An IP address, or a DNS name of at most 253 characters in labels of 1..63 letters, digits
    and hyphens once internationalised names are in their ASCII form."""
    try:
        ipaddress.ip_address(host)  # urlsplit has already removed an IPv6 address's brackets
        return True
    except ValueError:
        pass
    try:
        name = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


def _valid_port(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 (raises ValueError when out of range or not a number)
    except ValueError:
        return False
    return True


def check_secret(secret: str, problems: Problems, *path: str) -> None:
    if not SECRET_MIN_CHARS <= len(secret) <= SECRET_MAX_CHARS:
        problems.invalid(f"A secret has {SECRET_MIN_CHARS}..{SECRET_MAX_CHARS} characters.", *path)
    elif not secret.isprintable():
        # Control characters (a NUL above all) were stored as given; no signing secret needs one.
        problems.invalid("A secret is printable text.", *path)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses,
    which an SSRF would aim at. An IPv6 address that carries an IPv4 address (IPv4-mapped,
    IPv4-compatible, SIIT-translated, 6to4, Teredo, NAT64) is judged by the IPv4 address(es) it
    carries, because that is where the packets end up: 2002:7f00:1:: is 127.0.0.1 behind a 6to4
    relay. Explicit rather than left to `ipaddress`, whose verdicts on these ranges differ
    between Python 3.11 and 3.13."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return False
        carried = carried_ipv4(ip)
        if carried:
            return all(_is_public_ip(v4) for v4 in carried)
    return _is_public_ip(ip)


def carried_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (Teredo carries two: server and client)."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if ip in _NAT64_WELL_KNOWN or ip in _SIIT_TRANSLATED:
        return [low32]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves, not IPv4
        return [low32]
    return []


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 local-use translation prefix: where it leads is the local network's choice, and the
# IPv4 address sits at a position that depends on the prefix length the operator picked
# (RFC 6052), so no single reading is trustworthy: never public.
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_SIIT_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
