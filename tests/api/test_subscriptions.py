"""assessmentProgress over websockets, both protocols, with authentication at connection_init."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.support.client import GraphQLClient, register_and_login
from tests.support.flows import SUBMIT, answer_all, start
from tests.support.pipeline import completed
from tests.support.stacks import Server
from tests.support.ws import LEGACY_WS, TRANSPORT_WS, connect

PROGRESS = """
subscription Watch($id: ID!) {
  assessmentProgress(assessmentId: $id) {
    assessmentId status progress degraded retryAfterSeconds message at
    stages { stage state attempts }
  }
}
"""


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_watch_a_pipeline_from_submit_to_done(
    client: GraphQLClient, server: Server, protocol: str
) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    await answer_all(client, student.token, assessment)
    async with connect(server.ws_url, student.token, protocol) as subscription:
        watching = asyncio.create_task(
            subscription.events(PROGRESS, {"id": assessment["id"]}, timeout=60)
        )
        await asyncio.sleep(0.3)  # subscribed while still a DRAFT
        body = await client.data(SUBMIT, {"input": {"assessmentId": assessment["id"]}},
                                 student.token)  # fmt: skip
        assert body["submitAssessment"]["errors"] == []
        received = await watching
    updates = [p["data"]["assessmentProgress"] for p in received]
    assert updates[0]["status"] == "DRAFT"  # the snapshot at once
    assert updates[-1]["status"] == "DONE"
    assert updates[-1]["progress"] == 100
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress)
    # One event per stage change: every stage was seen running or done along the way.
    seen_running = {s["stage"] for u in updates for s in u["stages"] if s["state"] == "IN_PROGRESS"}
    assert len(seen_running) >= 2
    assert all(u["assessmentId"] == assessment["id"] for u in updates)


async def test_a_late_subscriber_gets_the_final_state_and_completion(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    async with connect(server.ws_url, student.token) as subscription:
        received = await subscription.events(PROGRESS, {"id": assessment["id"]}, timeout=10)
    assert [p["data"]["assessmentProgress"]["status"] for p in received] == ["DONE"]


async def test_strangers_are_forbidden_and_bad_tokens_refused(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    stranger = await register_and_login(client)
    assessment = await start(client, student.token)
    async with connect(server.ws_url, stranger.token) as subscription:
        received = await subscription.events(PROGRESS, {"id": assessment["id"]}, timeout=10)
    errors = received[-1]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"

    for token in (None, "not-a-jwt"):
        async with websockets.connect(server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
            payload = {"Authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403


async def test_the_authorization_key_is_case_insensitive(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    async with connect(server.ws_url, student.token, key="authorization") as subscription:
        received = await subscription.events(PROGRESS, {"id": assessment["id"]}, timeout=10)
    assert received[-1]["data"]["assessmentProgress"]["status"] == "DONE"


async def test_many_watchers_share_one_hub_subscription(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    hub = server.services.hub
    async with (
        connect(server.ws_url, student.token) as first,
        connect(server.ws_url, student.token) as second,
    ):
        results = await asyncio.gather(
            first.events(PROGRESS, {"id": assessment["id"]}),
            second.events(PROGRESS, {"id": assessment["id"]}),
        )
    assert all(r[-1]["data"]["assessmentProgress"]["status"] == "DONE" for r in results)
    # Every subscription was cleaned up when it completed.
    await asyncio.sleep(0.1)
    assert hub.subscriber_count == 0


async def test_each_websocket_session_is_logged_with_user_operation_and_close_code(
    client: GraphQLClient, server: Server
) -> None:
    import logging

    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logger = logging.getLogger("app.request")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        async with connect(server.ws_url, student.token) as subscription:
            await subscription.events(PROGRESS, {"id": assessment["id"]}, timeout=10)
        async with websockets.connect(server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
        for _ in range(100):  # the server logs once its side of each session has ended
            sessions = [r for r in records if r.getMessage() == "websocket session"]
            if len(sessions) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    watched, refused = sessions[:2]
    assert (watched.user_id, watched.operation) == (student.id, "Watch")  # type: ignore[attr-defined]
    assert (watched.close_code, watched.closed_by) == (1000, "client")  # type: ignore[attr-defined]
    assert (refused.user_id, refused.close_code, refused.closed_by) == (None, 4403, "server")  # type: ignore[attr-defined]
