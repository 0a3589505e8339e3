"""Webhook URLs cannot be aimed at the service's own network (SSRF), however they are spelled.

On an app in production mode (private networks refused), an admin tries loopback, private,
link-local and cloud-metadata addresses written every way a URL parser or resolver accepts them
(trailing dot, IPv6, IPv4-mapped IPv6, decimal, octal and hex integers, userinfo tricks), other
schemes, and host names that only look public. Each is a VALIDATION_ERROR on input.url and no
endpoint is saved. A name that resolves to a public address when the endpoint is created and to
a private one later (DNS rebinding) is refused again when a delivery is about to be made, and
a delivery connects to the very address it checked: a name that answers a public address to the
check and 127.0.0.1 a moment later never reaches the loopback receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.hostile.support import assert_handled
from tests.support.client import Account, GraphQLClient, register_and_login
from tests.support.db import rows, scalar, uuid_param
from tests.support.pipeline import completed
from tests.support.receiver import receiver
from tests.support.stacks import Server, StackConfig
from tests.support.worker import running_worker

CREATE = """
mutation Create($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id url } errors { field code message } }
}"""
DELETE = "mutation D($id: ID!) { deleteWebhookEndpoint(id: $id) { ok errors { code } } }"

REFUSED_URLS = [
    # loopback, however written
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://127.000.000.001/hook",
    "http://2130706433/hook",  # decimal
    "http://0177.0.0.1/hook",  # octal
    "http://0x7f000001/hook",  # hex
    "http://0x7f.0.0.1/hook",
    "http://localhost/hook",
    "http://LOCALHOST:8000/hook",
    "http://localhost./hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/hook",
    # unspecified
    "http://0.0.0.0/hook",
    "http://0/hook",
    "http://[::]/hook",
    # private ranges
    "http://10.0.0.1/hook",
    "http://10.255.255.254/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.0.1/hook",
    "http://[fd00::1]/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    # link-local and cloud metadata
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fe80::1%25eth0]/hook",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    # userinfo and fragment tricks
    "http://example.edu@127.0.0.1/hook",
    "http://example.edu:443@10.0.0.1/hook",
    "http://127.0.0.1#@example.edu/hook",
    "http://127.0.0.1\\@example.edu/hook",
    # other schemes
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "ftp://127.0.0.1/pub",
    "dict://127.0.0.1:6379/info",
    "javascript:alert(1)",
    "//127.0.0.1/hook",
    # hosts no resolver should be handed
    "http://" + "a" * 64 + ".example/hook",  # a label over 63 characters (was INTERNAL)
    "http://" + "a." * 130 + "example/hook",  # over 253 characters
    "http://exa mple.edu/hook",
    "http://exa\tmple.edu/hook",
    "http://127.0.0.1:99999/hook",
    "http://127.0.0.1:-1/hook",
]


@pytest.fixture(scope="module")
async def production(stack: StackConfig) -> AsyncIterator[tuple[GraphQLClient, Server, Account]]:
    running = Server(stack.settings(webhook_allow_private_networks=False), build_index=False)
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        admin = await register_and_login(client, role="ADMIN")
        yield client, running, admin
    finally:
        await client.aclose()
        await running.stop()


async def _saved(server: Server, url: str) -> int:
    found = await scalar(
        server, "SELECT count(*) FROM webhook_endpoints WHERE url = :u OR url = :s",
        u=url, s=url.strip(),
    )  # fmt: skip
    return int(found)


async def _create(client: GraphQLClient, admin: Account, url: str) -> dict[str, Any]:
    response = await client.post(
        CREATE, {"input": {"url": url, "events": ["ASSESSMENT_COMPLETED"]}}, admin.token
    )
    body = assert_handled(response, url)
    assert body is not None
    return body["data"]["createWebhookEndpoint"]  # type: ignore[no-any-return]


async def test_private_and_disguised_targets_are_refused(
    production: tuple[GraphQLClient, Server, Account],
) -> None:
    client, server, admin = production
    accepted = []
    for url in REFUSED_URLS:
        payload = await _create(client, admin, url)
        if payload["endpoint"] is not None:
            accepted.append(url)
            continue
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("VALIDATION_ERROR", ["input", "url"])
        ], url
        assert await _saved(server, url) == 0, url
    assert accepted == []


class FakeResolver:
    """socket.getaddrinfo for a few made-up names (no network in tests): each answers with
    the addresses it is currently given."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.names: dict[str, list[str]] = {}
        # A name whose answers change: each lookup takes the next answer; the last one stays.
        self.sequences: dict[str, list[list[str]]] = {}
        self.lookups: dict[str, int] = {}

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in self.sequences:
            self.lookups[name] = self.lookups.get(name, 0) + 1
            answers = self.sequences[name]
            self.names[name] = answers.pop(0) if len(answers) > 1 else answers[0]
        if name not in self.names:
            return self.real(host, port, *args, **kwargs)
        if not self.names[name]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [
            (family[":" in a], socket.SOCK_STREAM, 6, "", (a, port or 0)) for a in self.names[name]
        ]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    # The app runs in this process and resolves through the event loop, which calls
    # socket.getaddrinfo in a thread.
    fake = FakeResolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


async def test_names_resolving_to_private_addresses_are_refused(
    production: tuple[GraphQLClient, Server, Account], resolver: FakeResolver
) -> None:
    client, server, admin = production
    resolver.names = {
        "intranet.partner.example": ["10.0.0.7"],
        "mixed.partner.example": ["93.184.216.34", "192.168.1.20"],  # one bad answer is enough
        "v6.partner.example": ["::ffff:169.254.169.254"],
    }
    for host in resolver.names:
        url = f"https://{host}/hook"
        payload = await _create(client, admin, url)
        assert payload["endpoint"] is None, url
        assert [e["field"] for e in payload["errors"]] == [["input", "url"]]
        assert await _saved(server, url) == 0


async def test_dns_rebinding_is_refused_at_delivery_time(
    production: tuple[GraphQLClient, Server, Account], resolver: FakeResolver
) -> None:
    from jobs.webhooks import RefusedAddress, check_destination

    client, server, admin = production
    url = "https://hooks.partner.example/hook"
    resolver.names = {"hooks.partner.example": ["93.184.216.34"]}
    created = await _create(client, admin, url)
    assert created["errors"] == []
    assert created["endpoint"]["url"] == url
    try:
        await check_destination(url, allow_private=False)  # still public: would be sent
        resolver.names["hooks.partner.example"] = ["127.0.0.1"]  # the name now points inside
        with pytest.raises(RefusedAddress, match="non-public"):
            await check_destination(url, allow_private=False)
        resolver.names["hooks.partner.example"] = []  # and then not at all
        with pytest.raises(RefusedAddress, match="cannot resolve"):
            await check_destination(url, allow_private=False)
    finally:
        await client.data(DELETE, {"id": created["endpoint"]["id"]}, admin.token)
    assert await _saved(server, url) == 0


class NoInternet:
    """anyio.connect_tcp (what httpcore connects through) with the machine's outside world cut
    off: a connection to an address off loopback fails at once, as it would here anyway, and
    every host it was asked for is recorded."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.hosts: list[str] = []

    async def __call__(self, remote_host: Any, remote_port: int, **kwargs: Any) -> Any:
        self.hosts.append(str(remote_host))
        try:
            outside = not ipaddress.ip_address(str(remote_host)).is_loopback
        except ValueError:
            outside = False  # a name: the real function resolves it (through the fake resolver)
        if outside:
            raise OSError(101, "Network is unreachable (test)")
        return await self.real(remote_host, remote_port, **kwargs)


async def test_delivery_connects_to_the_address_it_checked(
    stack: StackConfig, resolver: FakeResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name answers a public address to the check and 127.0.0.1 to the next lookup. Before,
    the delivery checked the name, then httpx resolved it again and posted to the loopback
    receiver. Now the one lookup a delivery makes is the one it connects with."""
    import anyio

    no_internet = NoInternet(anyio.connect_tcp)
    monkeypatch.setattr(anyio, "connect_tcp", no_internet)
    # A Redis namespace of its own: in the stack's, the run's shared worker (private networks
    # allowed) may take the delivery instead of this test's worker.
    settings = stack.settings(
        webhook_allow_private_networks=False, redis_namespace=f"{stack.namespace}-ssrf"
    )
    running = Server(settings, build_index=False)
    await running.start()
    client = GraphQLClient(running.base_url)
    created: dict[str, Any] | None = None
    try:
        async with receiver() as target, _worker_if_redis(settings, running):
            host = "rebind.partner.example"
            url = f"http://{host}:{target.port}/hook"
            # 1: creation's check, 2: the first delivery (and, before, its check), 3 and later:
            # inside. Before the fix lookup 3 was httpx's own, at connect time.
            public, inside = ["93.184.216.34"], ["127.0.0.1"]
            resolver.sequences = {host: [public, public, inside]}
            admin = await register_and_login(client, role="ADMIN")
            created = await _create(client, admin, url)
            assert created["errors"] == []
            student = await register_and_login(client)
            await completed(client, student.token)
            endpoint = uuid_param(running, created["endpoint"]["id"])
            attempts: list[dict[str, Any]] = []
            for _ in range(400):  # a hang guard; deliveries retry at 1/100 of the real backoff
                attempts = await rows(
                    running,
                    "SELECT attempt, status, error FROM webhook_deliveries "
                    "WHERE endpoint_id = :e ORDER BY attempt",
                    e=endpoint,
                )
                if attempts and attempts[-1]["error"] and "refused" in attempts[-1]["error"]:
                    break
                if target.requests:
                    break
                await asyncio.sleep(0.05)
            assert target.requests == []  # the loopback receiver was never reached
            assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "failed"), (2, "failed")]
            # Sent to the checked (public, unroutable here) address: a connect error, whose
            # wording depends on the host's routes and on anyio ("Network is unreachable",
            # "All connection attempts failed"), never a refusal by the check.
            assert attempts[0]["error"].startswith("ConnectError") or (
                "Network is unreachable" in attempts[0]["error"]
            )
            assert attempts[1]["error"] == (
                f"refused: {host} resolves to a non-public address (127.0.0.1)"
            )
            assert resolver.lookups[host] == 3  # one per attempt, none behind the check's back
            assert host not in no_internet.hosts  # connections go to addresses, never names
            assert "93.184.216.34" in no_internet.hosts
    finally:
        if created and created.get("endpoint"):
            await client.data(DELETE, {"id": created["endpoint"]["id"]}, admin.token)
        await client.aclose()
        await running.stop()


@contextlib.asynccontextmanager
async def _worker_if_redis(settings: Any, running: Server) -> AsyncIterator[None]:
    """On the PostgreSQL stack deliveries run in an arq worker (in this process, so the fake
    resolver applies); on SQLite in the app."""
    if not settings.redis_url:
        yield
        return
    async with running_worker(settings) as worker:
        running.worker = worker
        yield
