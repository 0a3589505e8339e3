"""Issue 15, finding 1: an open websocket must not keep its caller for ever. Every operation
over a socket (both protocols, queries and mutations too) re-resolves the caller; a live
subscription is re-checked on every event and every WEBSOCKET_RECHECK_SECONDS; the socket
closes 4401 (token expired, account gone) or 4403 (access to the watched object lost)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import websockets

from db.types import utcnow
from domain import ids
from domain.roles import Role
from domain.tokens import issue_access_token
from tests.support.client import PASSWORD, GraphQLClient, register_and_login
from tests.support.flows import start
from tests.support.stacks import Server, StackConfig
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, Subscription, connect

PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
# The legacy graphql-ws protocol runs subscriptions only (Strawberry refuses a query there).
TRANSPORT_ONLY = pytest.mark.parametrize("protocol", [TRANSPORT_WS])

AUDIT = """query Audit($action: String) {
  auditEvents(action: $action, first: 100) { totalCount edges { node { actor resource } } } }"""
USER = "query User($id: ID!) { user(id: $id) { id email } }"
ME = "{ me { id role } }"
ROLE = """mutation Role($id: ID!, $role: Role!) {
  setUserRole(userId: $id, role: $role) { ok errors { code } } }"""
ASSIGN = """mutation Assign($s: ID!, $a: ID!) {
  assignAdvisor(studentId: $s, advisorId: $a) { ok errors { code } } }"""
DELETE_ME = """mutation DeleteMe($password: String!) {
  deleteMyAccount(password: $password) { ok errors { code } } }"""
RAG = "subscription { ragIndexProgress { state } }"
PROGRESS = """subscription Watch($id: ID!) {
  assessmentProgress(assessmentId: $id) { assessmentId status } }"""


@pytest.fixture(scope="module")
async def short_recheck(stack: StackConfig) -> AsyncIterator[Server]:
    """A server whose live subscriptions re-check access every 0.3 s (30 s by default)."""
    running = Server(stack.settings(websocket_recheck_seconds=0.3), build_index=False)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def send(sub: Subscription, query: str, variables: dict[str, Any] | None = None) -> None:
    kind = "subscribe" if sub.protocol == TRANSPORT_WS else "start"
    message = {"id": uuid.uuid4().hex, "type": kind,
               "payload": {"query": query, "variables": variables or {}}}  # fmt: skip
    await sub.connection.send(json.dumps(message))


async def ask(sub: Subscription, query: str, variables: dict[str, Any] | None = None) -> Any:
    """One query or mutation over the socket: its first result payload."""
    await send(sub, query, variables)
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        message = await sub._receive(deadline)
        if message["type"] in ("next", "data"):
            return message["payload"]
        if message["type"] == "error":
            return {"errors": message["payload"]}


async def closed_with(sub: Subscription, action: Any) -> websockets.frames.Close:
    """Run `action` (which sends on the socket) and return the server's close frame."""

    async def until_closed() -> None:
        await action
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            await sub._receive(deadline)

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await until_closed()
    assert closed.value.rcvd is not None, "the client, not the server, closed the socket"
    return closed.value.rcvd


@PROTOCOLS
async def test_a_deleted_account_is_refused_over_an_open_socket(
    client: GraphQLClient, server: Server, protocol: str
) -> None:
    admin = await register_and_login(client, "ADMIN")
    async with connect(server.ws_url, admin.token, protocol) as sub:
        if protocol == TRANSPORT_WS:
            assert (await ask(sub, ME))["data"]["me"]["role"] == "ADMIN"
        erased = await client.data(DELETE_ME, {"password": PASSWORD}, admin.token)
        assert erased["deleteMyAccount"]["ok"] is True
        operation = AUDIT if protocol == TRANSPORT_WS else RAG
        close = await closed_with(sub, ask(sub, operation))
    assert close.code == 4401
    assert "no longer exists" in close.reason


@PROTOCOLS
async def test_an_expired_token_stops_working_on_its_socket(
    client: GraphQLClient, server: Server, protocol: str
) -> None:
    student = await register_and_login(client)
    settings = server.settings
    user_id = ids.decode(ids.Kind.USER, student.id)
    assert user_id is not None
    # A token with 3 s left to live.
    token = issue_access_token(
        user_id=user_id, role=Role.STUDENT, key=settings.jwt_key, issuer=settings.jwt_issuer,
        audience=settings.jwt_audience, now=utcnow() - timedelta(seconds=57),
        ttl=timedelta(seconds=60),
    )  # fmt: skip
    async with connect(server.ws_url, token, protocol) as sub:
        if protocol == TRANSPORT_WS:
            assert (await ask(sub, ME))["data"]["me"]["id"] == student.id
        await asyncio.sleep(4)
        operation = ME if protocol == TRANSPORT_WS else PROGRESS
        close = await closed_with(sub, ask(sub, operation, {"id": "x"}))
    assert close.code == 4401
    assert "expired" in close.reason


@TRANSPORT_ONLY
async def test_a_demoted_admin_loses_admin_operations_on_an_open_socket(
    client: GraphQLClient, server: Server, protocol: str
) -> None:
    admin = await register_and_login(client, "ADMIN")
    other = await register_and_login(client, "ADMIN")
    student = await register_and_login(client)
    async with connect(server.ws_url, other.token, protocol) as sub:
        assert "errors" not in await ask(sub, AUDIT)
        demoted = await client.data(ROLE, {"id": other.id, "role": "STUDENT"}, admin.token)
        assert demoted["setUserRole"]["ok"] is True
        audit = await ask(sub, AUDIT)
        assert audit["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert audit["data"] is None
        # A mutation over the socket: promoting someone is refused too.
        promote = await ask(sub, ROLE, {"id": student.id, "role": "ADMIN"})
        assert promote["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    me = await client.data(ME, token=student.token)
    assert me["me"]["role"] == "STUDENT"


@PROTOCOLS
async def test_an_unassigned_advisor_loses_the_student_and_the_live_stream(
    client: GraphQLClient, short_recheck: Server, protocol: str
) -> None:
    from tests.support.client import GraphQLClient as Client

    local = Client(short_recheck.base_url)
    try:
        admin = await register_and_login(local, "ADMIN")
        advisor = await register_and_login(local, "ADVISOR")
        replacement = await register_and_login(local, "ADVISOR")
        student = await register_and_login(local)
        assert (await local.data(ASSIGN, {"s": student.id, "a": advisor.id}, admin.token))[
            "assignAdvisor"
        ]["ok"]
        assessment = await start(local, student.token)
        async with connect(short_recheck.ws_url, advisor.token, protocol) as sub:
            if protocol == TRANSPORT_WS:
                read = await ask(sub, USER, {"id": student.id})
                assert read["data"]["user"]["email"] == student.email
            await send(sub, PROGRESS, {"id": assessment["id"]})
            deadline = asyncio.get_running_loop().time() + 30
            first = await sub._receive(deadline)
            while first["type"] == "complete":  # the end of the query above
                first = await sub._receive(deadline)
            assert first["payload"]["data"]["assessmentProgress"]["status"] == "DRAFT"
            moved = await local.data(ASSIGN, {"s": student.id, "a": replacement.id}, admin.token)
            assert moved["assignAdvisor"]["ok"]
            # No event comes: the periodic re-check alone must end the stream.
            close = await closed_with(sub, asyncio.sleep(0))
        assert close.code == 4403
        assert "no longer" in close.reason
        # A new socket: the student is not visible any more.
        if protocol == TRANSPORT_WS:
            async with connect(short_recheck.ws_url, advisor.token, protocol) as sub:
                assert (await ask(sub, USER, {"id": student.id}))["data"]["user"] is None
    finally:
        await local.aclose()


@TRANSPORT_ONLY
async def test_advisor_reads_over_a_socket_are_audited_per_operation(
    client: GraphQLClient, server: Server, protocol: str
) -> None:
    admin = await register_and_login(client, "ADMIN")
    advisor = await register_and_login(client, "ADVISOR")
    student = await register_and_login(client)
    assert (await client.data(ASSIGN, {"s": student.id, "a": advisor.id}, admin.token))[
        "assignAdvisor"
    ]["ok"]
    async with connect(server.ws_url, advisor.token, protocol) as sub:
        for _ in range(3):
            read = await ask(sub, USER, {"id": student.id})
            assert read["data"]["user"]["id"] == student.id
    audit = await client.data(AUDIT, {"action": "advisor.read"}, admin.token)
    mine = [
        e["node"] for e in audit["auditEvents"]["edges"]
        if e["node"]["actor"] == advisor.id and e["node"]["resource"] == student.id
    ]  # fmt: skip
    assert len(mine) == 3
