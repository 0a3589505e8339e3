"""Issue 15, findings 3-5, against the real server as production serves it (app.uvicorn_config):

3. X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (default: nobody), so a client on
   the host cannot pick its own address and with it a fresh per-address rate-limit bucket;
   behind a trusted proxy every client gets its own bucket and a client-written hop is ignored.
4. A connection that has not sent complete headers within HEADER_READ_TIMEOUT_SECONDS is
   closed; a body not complete within BODY_READ_TIMEOUT_SECONDS gets a 408 and is not run.
5. A websocket message larger than MAX_BODY_BYTES closes the socket with 1009, not run.

Deadlines are 0.5 s here. The waits below (HANG_GUARD) only stop a test that would otherwise
hang on the unfixed server; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from tests.support.client import (
    LOGIN,
    PASSWORD,
    REGISTER,
    GraphQLClient,
    register_and_login,
    unique_email,
)
from tests.support.stacks import Server, StackConfig
from tests.support.ws import TRANSPORT_WS

SHORT = 0.5
HANG_GUARD = 20.0
PER_ADDRESS = 3
MAX_BODY = 4096


async def _running(settings: Any) -> Server:
    running = Server(settings, build_index=False)
    await running.start()
    return running


@pytest.fixture(scope="module")
async def edge(stack: StackConfig) -> AsyncIterator[Server]:
    """Short header and body deadlines and a small body limit; nobody's forwarded headers."""
    running = await _running(
        stack.settings(
            header_read_timeout_seconds=SHORT,
            body_read_timeout_seconds=SHORT,
            max_body_bytes=MAX_BODY,
        )
    )
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
async def untrusting(stack: StackConfig) -> AsyncIterator[Server]:
    """The default FORWARDED_ALLOW_IPS (empty) and a small per-address limit."""
    # A Redis namespace of its own: loopback's per-address bucket in the stack's namespace is
    # shared with every other test of the run (on PostgreSQL + Redis it was already spent).
    running = await _running(
        stack.settings(auth_requests_per_ip=PER_ADDRESS, redis_namespace=f"{stack.namespace}-xff")
    )
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
async def behind_proxy(stack: StackConfig) -> AsyncIterator[Server]:
    """The test client plays a reverse proxy on loopback, with a second proxy tier in 10/8."""
    running = await _running(
        stack.settings(
            auth_requests_per_ip=PER_ADDRESS,
            forwarded_allow_ips="127.0.0.1,10.0.0.0/8",
            redis_namespace=f"{stack.namespace}-proxy",
        )
    )
    try:
        yield running
    finally:
        await running.stop()


_ADDRESSES = itertools.count(1)


def _documentation_address() -> str:
    """A fresh address from TEST-NET-3, so tests sharing a server never share a bucket."""
    return f"203.0.113.{next(_ADDRESSES)}"


async def _login_code(client: GraphQLClient, forwarded_for: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    body = await client.gql(
        LOGIN, {"input": {"email": unique_email(), "password": "wrong password"}},
        headers=headers,
    )  # fmt: skip
    return str(body["data"]["login"]["errors"][0]["code"])


# ---------------------------------------------------------------- 3: forwarded headers


async def test_a_client_on_the_host_cannot_pick_its_address_with_x_forwarded_for(
    untrusting: Server,
) -> None:
    """The attack: a new X-Forwarded-For per request, a new bucket per request (uvicorn's
    default trusted loopback). Now the peer is the address, whatever the header says."""
    client = GraphQLClient(untrusting.base_url)
    try:
        codes = [await _login_code(client, f"198.51.100.{n}") for n in range(1, PER_ADDRESS + 4)]
    finally:
        await client.aclose()
    assert codes[:PER_ADDRESS] == ["INVALID_CREDENTIALS"] * PER_ADDRESS, codes
    assert set(codes[PER_ADDRESS:]) == {"RATE_LIMITED"}, codes


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    behind_proxy: Server,
) -> None:
    first, second = _documentation_address(), _documentation_address()
    client = GraphQLClient(behind_proxy.base_url)
    try:
        exhausted = [await _login_code(client, first) for _ in range(PER_ADDRESS + 1)]
        other = await _login_code(client, second)
    finally:
        await client.aclose()
    assert exhausted[-1] == "RATE_LIMITED", exhausted
    assert other == "INVALID_CREDENTIALS"


async def test_behind_a_trusted_proxy_a_hop_written_by_the_client_is_ignored(
    behind_proxy: Server,
) -> None:
    """The client sends its own X-Forwarded-For; the proxy appends the address it saw (and a
    second trusted tier in 10/8 appends its own). The first untrusted hop from the right is
    the client, so changing the client-written part gains nothing."""
    seen_by_proxy = _documentation_address()
    client = GraphQLClient(behind_proxy.base_url)
    try:
        codes = [
            await _login_code(client, f"192.0.2.{n}, {seen_by_proxy}, 10.1.2.3")
            for n in range(1, PER_ADDRESS + 3)
        ]
    finally:
        await client.aclose()
    assert codes[:PER_ADDRESS] == ["INVALID_CREDENTIALS"] * PER_ADDRESS, codes
    assert set(codes[PER_ADDRESS:]) == {"RATE_LIMITED"}, codes


# ---------------------------------------------------------------- 4: slow clients


async def _raw(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(HANG_GUARD):
            while chunk := await reader.read(65536):
                chunks.append(chunk)
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(
            f"the server kept the connection open; it sent {b''.join(chunks)!r}"
        ) from None
    return b"".join(chunks)


async def test_connections_with_half_sent_headers_are_closed(edge: Server) -> None:
    """Slowloris: many connections, each with part of a request line or of its headers."""
    partials = [b"", b"POST /gra", b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Ty"] * 10
    connections = [await _raw(edge) for _ in partials]
    try:
        for (_, writer), partial in zip(connections, partials, strict=True):
            writer.write(partial)
            await writer.drain()
        received = await asyncio.gather(*(_read_until_closed(r) for r, _ in connections))
    finally:
        for _, writer in connections:
            writer.close()
    # Closed without an answer: nothing reached the app.
    assert received == [b""] * len(partials)


async def test_a_keep_alive_connection_idle_between_requests_is_not_cut_by_the_header_deadline(
    edge: Server,
) -> None:
    """The header deadline runs from the start of a request; idling between requests is
    uvicorn's keep-alive timeout (30 s), so a connection reused after a pause still works."""
    reader, writer = await _raw(edge)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        for _ in range(2):
            writer.write(request)
            await writer.drain()
            async with asyncio.timeout(HANG_GUARD):
                status = await reader.readuntil(b"\r\n")
                rest = await reader.readuntil(b"\r\n\r\n")
            assert status.startswith(b"HTTP/1.1 200"), status
            length = int(rest.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(SHORT * 3)
    finally:
        writer.close()


def _head(content_length: int | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /graphql HTTP/1.1", "Host: x", "Content-Type: application/json"]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _register_body(email: str) -> bytes:
    return json.dumps(
        {"query": REGISTER, "variables": {"input": {"email": email, "password": PASSWORD}}}
    ).encode()


def _status_and_body(response: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


async def _assert_not_registered(server: Server, email: str) -> None:
    """Registering the email now succeeds: the timed-out request did not run."""
    client = GraphQLClient(server.base_url)
    try:
        body = await client.data(REGISTER, {"input": {"email": email, "password": PASSWORD}})
    finally:
        await client.aclose()
    assert body["register"]["errors"] == [], body


async def test_a_body_shorter_than_its_content_length_gets_408_and_is_not_run(
    edge: Server,
) -> None:
    """A whole, valid GraphQL request, but a Content-Length promising more: the unfixed server
    waits for ever; now 408 and the mutation is not run."""
    email = unique_email()
    body = _register_body(email)
    reader, writer = await _raw(edge)
    try:
        writer.write(_head(content_length=len(body) + 40) + body)
        await writer.drain()
        status, error = _status_and_body(await _read_until_closed(reader))
    finally:
        writer.close()
    assert status == 408
    assert error["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    await _assert_not_registered(edge, email)


async def test_a_trickled_chunked_body_gets_408_when_the_whole_body_is_late(edge: Server) -> None:
    """The deadline is for the whole body, not for each read: a byte every 0.1 s never lets a
    read wait long, and still times out."""
    email = unique_email()
    body = _register_body(email)
    reader, writer = await _raw(edge)
    try:
        writer.write(_head(chunked=True))
        answer = asyncio.ensure_future(_read_until_closed(reader))
        for byte in body:
            if answer.done():
                break
            writer.write(b"1\r\n" + bytes([byte]) + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)
        status, error = _status_and_body(await answer)
    finally:
        writer.close()
    assert status == 408
    assert error["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    await _assert_not_registered(edge, email)


# ---------------------------------------------------------------- 5: websocket message size


async def _transport_ws(server: Server) -> websockets.ClientConnection:
    """A graphql-transport-ws socket signed in as a new student."""
    client = GraphQLClient(server.base_url)
    try:
        account = await register_and_login(client)
    finally:
        await client.aclose()
    connection = await websockets.connect(server.ws_url, subprotocols=[TRANSPORT_WS])  # type: ignore[list-item]
    payload = {"Authorization": f"Bearer {account.token}"}
    await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(connection.recv(), HANG_GUARD))
    assert ack["type"] == "connection_ack", ack
    return connection


async def _receive_until_closed(connection: websockets.ClientConnection) -> None:
    async with asyncio.timeout(HANG_GUARD):
        while True:
            await connection.recv()


def _subscribe_register(email: str, padding: int) -> str:
    """A register mutation, its message padded with an unused variable to the size wanted."""
    variables = {"input": {"email": email, "password": PASSWORD}, "pad": "x" * padding}
    return json.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": REGISTER, "variables": variables}}
    )


async def test_a_websocket_message_over_the_body_limit_closes_1009_and_is_not_run(
    edge: Server,
) -> None:
    email = unique_email()
    connection = await _transport_ws(edge)
    try:
        await connection.send(_subscribe_register(email, MAX_BODY))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await _receive_until_closed(connection)
    finally:
        await connection.close()
    assert closed.value.rcvd is not None, "the client, not the server, closed the socket"
    assert closed.value.rcvd.code == 1009
    await _assert_not_registered(edge, email)


async def test_a_websocket_message_within_the_limit_runs_even_after_the_header_deadline(
    edge: Server,
) -> None:
    """An upgraded socket is not a request waiting for headers: idle past the header deadline,
    it still runs a message just under the limit."""
    email = unique_email()
    connection = await _transport_ws(edge)
    try:
        await asyncio.sleep(SHORT * 3)
        message = _subscribe_register(email, 0)
        await connection.send(_subscribe_register(email, MAX_BODY - len(message) - 10))
        reply = json.loads(await asyncio.wait_for(connection.recv(), HANG_GUARD))
    finally:
        await connection.close()
    assert reply["type"] == "next", reply
    assert reply["payload"]["data"]["register"]["errors"] == [], reply
