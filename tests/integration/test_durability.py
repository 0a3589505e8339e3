"""Durability on the real PostgreSQL + Redis: nothing submitted is lost or done twice.

- A worker killed with SIGKILL mid-stage: another worker finishes the assessment, once.
- Redis loses the queued job after submit: the sweeper re-enqueues it from the jobs table.

Workers run as real `arq jobs.worker.WorkerSettings` processes; stages are slowed by the
fault-injection setting so the kill lands mid-stage."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, scalar, uuid_param
from tests.support.pipeline import STATUS, submitted, wait_for_status
from tests.support.receiver import Receiver, receiver
from tests.support.stacks import REDIS_URL, Server, StackConfig, provision
from tests.support.worker import worker_subprocess

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

DRILL = {
    "chaos_stage_delay_seconds": 1.5,
    "job_lease_seconds": 2.0,
    "sweep_interval_seconds": 1.0,
    "requeue_grace_seconds": 1.0,
    "essay_wait_seconds": 0.5,
}


@dataclass
class Drill:
    stack: StackConfig
    server: Server
    client: GraphQLClient
    hook: Receiver

    def env(self) -> dict[str, str]:
        settings = self.server.settings
        env = {
            **os.environ,
            "APP_ENV": "development",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": REDIS_URL,
            "REDIS_NAMESPACE": settings.redis_namespace,
            "VAR_DIR": str(self.stack.var_dir),
            "JWT_SECRET": settings.jwt_key,
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "RETRY_DELAY_SCALE": "0.01",
        }
        env.update({k.upper(): str(v) for k, v in DRILL.items()})
        return env

    @contextmanager
    def worker(self) -> Iterator[subprocess.Popen[bytes]]:
        with worker_subprocess(self.env()) as process:
            yield process


@pytest.fixture(scope="module")
async def drill(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Drill]:
    async with provision("postgres", tmp_path_factory.mktemp("drill")) as stack:
        server = Server(stack.settings(**DRILL))
        await server.start()
        client = GraphQLClient(server.base_url)
        async with receiver() as hook:
            admin = await register_and_login(client, role="ADMIN")
            await client.data(
                "mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) "
                "{ errors { code } } }",
                {"i": {"url": hook.url, "events": ["ASSESSMENT_COMPLETED"]}},
                admin.token,
            )
            try:
                yield Drill(stack, server, client, hook)
            finally:
                await client.aclose()
                await server.stop()


async def _wait_for_stage(drill: Drill, token: str, assessment_id: str) -> str:
    for _ in range(400):
        progress = (await drill.client.data(STATUS, {"id": assessment_id}, token))[
            "assessmentStatus"
        ]
        running = [s["stage"] for s in progress["stages"] if s["state"] == "IN_PROGRESS"]
        if running:
            return str(running[0])
        await asyncio.sleep(0.05)
    raise AssertionError("no stage started")


async def _exactly_once(drill: Drill, assessment_id: str) -> None:
    server = drill.server
    key = uuid_param(server, assessment_id)
    for table in ("scores", "recommendations"):
        statement = f"SELECT count(*) FROM {table} WHERE assessment_id = :a"  # noqa: S608
        assert await scalar(server, statement, a=key) == 1
    essays = await rows(
        server,
        "SELECT assessment_question_id, answer_hash, count(*) AS n FROM essay_scores "
        "WHERE assessment_id = :a GROUP BY assessment_question_id, answer_hash",
        a=key,
    )
    assert essays
    assert all(row["n"] == 1 for row in essays)
    deliveries = await drill.hook.wait_for(assessment_id, 1)
    await asyncio.sleep(1.0)  # a duplicate would arrive within the retry window
    assert len(drill.hook.about(assessment_id)) == len(deliveries) == 1
    stages = await rows(
        server, "SELECT state FROM assessment_stages WHERE assessment_id = :a", a=key
    )
    assert sorted(r["state"] for r in stages) == ["done"] * 4


async def test_worker_killed_mid_stage_finishes_once(drill: Drill) -> None:
    student = await register_and_login(drill.client)
    with drill.worker() as first:
        assessment = await submitted(drill.client, student.token)
        stage = await _wait_for_stage(drill, student.token, assessment["id"])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    with drill.worker():
        progress = await wait_for_status(
            drill.client, student.token, assessment["id"], {"DONE", "FAILED"}, timeout=90
        )
        assert progress["status"] == "DONE", progress
        killed = next(s for s in progress["stages"] if s["stage"] == stage)
        assert killed["attempts"] == 2  # ran again after the kill, and only that stage twice
        job = await rows(
            drill.server,
            "SELECT status, attempts, recoveries FROM jobs "
            "WHERE assessment_id = :a AND type = 'pipeline'",
            a=uuid_param(drill.server, assessment["id"]),
        )
        assert job[0]["status"] == "done"
        assert job[0]["recoveries"] >= 1
        await _exactly_once(drill, assessment["id"])


async def test_jobs_lost_from_redis_are_recovered_by_the_sweeper(drill: Drill) -> None:
    from redis.asyncio import Redis

    student = await register_and_login(drill.client)
    assessment = await submitted(drill.client, student.token)  # no worker is running
    settings = drill.server.settings
    redis = Redis.from_url(REDIS_URL)
    try:
        queue = f"{settings.redis_namespace}:arq:queue"
        lost = [job.decode() for job in await redis.zrange(queue, 0, -1)]
        assert lost
        # What a Redis restart without persistence does to the queue.
        await redis.delete(queue, *[f"arq:job:{job}" for job in lost])
    finally:
        await redis.aclose()
    with drill.worker():
        progress = await wait_for_status(
            drill.client, student.token, assessment["id"], {"DONE", "FAILED"}, timeout=90
        )
        assert progress["status"] == "DONE", progress
        await _exactly_once(drill, assessment["id"])


async def test_events_from_a_worker_process_reach_api_subscribers(drill: Drill) -> None:
    """The progress a worker process publishes reaches websocket subscribers of the API."""
    from tests.support.ws import connect

    student = await register_and_login(drill.client)
    assessment = await submitted(drill.client, student.token)
    with drill.worker():
        async with connect(drill.server.ws_url, student.token) as subscription:
            received = await subscription.events(
                "subscription($id: ID!) { assessmentProgress(assessmentId: $id) "
                "{ status progress } }",
                {"id": assessment["id"]},
                timeout=90,
            )
    statuses = [r["data"]["assessmentProgress"]["status"] for r in received]
    assert statuses[-1] == "DONE"
    assert len(statuses) >= 4  # events from the worker process, through Redis
