"""Issue 4: submit-to-DONE latency over 100 assessments with 10 in flight (instant scorers),
through arq + Redis and in-process; and subscription fan-out: 500 websocket clients on one
process watching 50 assessments, from stage change (the event's `at`) to delivery.

Targets: p95 submit-to-DONE under 1.5 s through arq; fan-out p95 under 100 ms."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
import websockets

from tests.bench.harness import (
    Samples,
    client,
    gql,
    header,
    server_env,
    server_process,
    worker_process,
)
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.flows import SAVE, START, SUBMIT, valid_answer
from tests.support.stacks import StackConfig

ASSESSMENTS = 100
IN_FLIGHT = 10
WATCHED = 50
WATCHERS_EACH = 10
WATCH = """subscription($id: ID!) { assessmentProgress(assessmentId: $id) { status at } }"""


async def _student(http: aiohttp.ClientSession) -> str:
    email = f"bench-pipe-{uuid.uuid4().hex}@example.edu"
    registered = await gql(http, REGISTER, {"input": {"email": email, "password": PASSWORD}})
    body = await gql(http, LOGIN, {"input": {"email": email, "password": PASSWORD}})
    if not body.get("data"):
        raise RuntimeError(f"login failed: {registered} {body}")
    return str(body["data"]["login"]["accessToken"])


async def _answered_draft(http: aiohttp.ClientSession, token: str) -> str:
    body = await gql(http, START, {"input": {"track": "general"}}, token)
    assessment = body["data"]["startAssessment"]["assessment"]
    responses = [
        {"questionId": q["id"], "answer": valid_answer(q)} for q in assessment["questions"]
    ]
    await gql(http, SAVE, {"input": {"assessmentId": assessment["id"], "responses": responses}},
              token)  # fmt: skip
    return str(assessment["id"])


@asynccontextmanager
async def _watching(ws_url: str, token: str, assessment_id: str) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection subscribed to one assessment's progress."""
    protocols: Any = ["graphql-transport-ws"]
    async with websockets.connect(ws_url, subprotocols=protocols, open_timeout=60) as ws:
        init = {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        await ws.recv()
        payload = {"query": WATCH, "variables": {"id": assessment_id}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield ws


async def _wait_done(ws_url: str, token: str, assessment_id: str, ready: asyncio.Event) -> float:
    finished = 0.0
    async with _watching(ws_url, token, assessment_id) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "next":
                ready.set()
                status = message["payload"]["data"]["assessmentProgress"]["status"]
                if status in ("DONE", "FAILED"):
                    finished = time.perf_counter()
            elif message["type"] == "complete":
                return finished
            else:
                raise RuntimeError(f"subscription failed: {message}")
    raise RuntimeError("subscription ended without completing")


async def _latency(base: str, label: str) -> Samples:
    ws_url = base.replace("http://", "ws://") + "/graphql"
    samples = Samples(f"submit->DONE {label}")
    async with client(base) as http:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            token = await _student(http)
            assessment_id = await _answered_draft(http, token)
            async with gate:
                ready = asyncio.Event()
                waiter = asyncio.create_task(_wait_done(ws_url, token, assessment_id, ready))
                await ready.wait()  # subscribed: the DRAFT snapshot arrived
                began = time.perf_counter()
                await gql(http, SUBMIT, {"input": {"assessmentId": assessment_id}}, token)
                samples.add(await waiter - began)

        samples.started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(ASSESSMENTS)))
        samples.stop()
    return samples


async def _fanout(base: str, spread_seconds: float = 0.0) -> Samples:
    """Submits all at once (spread_seconds=0: the worst case, an exam ending) or spread."""
    ws_url = base.replace("http://", "ws://") + "/graphql"
    how = "one burst" if not spread_seconds else f"over {spread_seconds:.0f} s"
    delivery = Samples(f"fan-out ({WATCHED * WATCHERS_EACH} sockets, {WATCHED} submits {how})")
    async with client(base) as http:
        token = await _student(http)
        owners = [await _student(http) for _ in range(WATCHED)]
        drafts = [await _answered_draft(http, owner) for owner in owners]
        del token
        connected = 0
        all_ready = asyncio.Event()

        async def watch(owner: str, assessment_id: str) -> None:
            nonlocal connected
            async with _watching(ws_url, owner, assessment_id) as ws:
                first = True
                async for raw in ws:
                    received = datetime.now().astimezone()
                    message = json.loads(raw)
                    if message["type"] == "complete":
                        break
                    if message["type"] != "next":
                        raise RuntimeError(f"subscription failed: {message}")
                    progress = message["payload"]["data"]["assessmentProgress"]
                    if first:  # the snapshot, not a change
                        first = False
                        connected += 1
                        if connected == WATCHED * WATCHERS_EACH:
                            all_ready.set()
                        continue
                    sent = datetime.fromisoformat(progress["at"])
                    delivery.add((received - sent).total_seconds())

        watchers = [
            asyncio.create_task(watch(owner, assessment_id))
            for owner, assessment_id in zip(owners, drafts, strict=True)
            for _ in range(WATCHERS_EACH)
        ]
        await asyncio.wait_for(all_ready.wait(), 120)
        delivery.started = time.perf_counter()

        async def submit(index: int, owner: str, assessment_id: str) -> None:
            await asyncio.sleep(spread_seconds * index / WATCHED)
            await gql(http, SUBMIT, {"input": {"assessmentId": assessment_id}}, owner)

        await asyncio.gather(*(
            submit(i, owner, a) for i, (owner, a) in enumerate(zip(owners, drafts, strict=True))
        ))  # fmt: skip
        await asyncio.wait_for(asyncio.gather(*watchers), 300)
        delivery.stop()
    return delivery


async def run(stack: StackConfig) -> None:
    header(f"pipeline: submit->DONE, {ASSESSMENTS} assessments, {IN_FLIGHT} in flight")
    env = server_env(stack, BCRYPT_ROUNDS="4", ESSAY_WAIT_SECONDS="2")
    rows: list[Any] = []
    async with server_process(env) as base, worker_process(env):
        rows.append(await _latency(base, "through arq + Redis"))
        rows.append(await _fanout(base))
        rows.append(await _fanout(base, spread_seconds=5.0))
    in_process = {k: v for k, v in env.items() if k != "REDIS_URL"}
    in_process["REDIS_URL"] = ""
    async with server_process(in_process) as base:
        rows.append(await _latency(base, "in-process"))
    for samples in rows:
        print(samples.row())
    print(
        f"submit->DONE p95 through arq {rows[0].pct(95):.0f} ms (target < 1500 ms); "
        f"fan-out delivery p95 {rows[1].pct(95):.0f} ms (target < 100 ms)"
    )
