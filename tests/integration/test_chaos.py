"""Restarts of Redis and PostgreSQL under load (the fast half of `make chaos`): nothing
submitted is lost or done twice, /readyz tells the truth during the outage, and the API recovers
without a restart; and a job a worker takes while PostgreSQL is down still runs once it is back.

Both run on a redis-server and a PostgreSQL cluster of their own on free ports (the machine's
shared ones serve other test runs and must never be restarted), the API in this process and an
arq worker as a real `arq jobs.worker.WorkerSettings` process. The LLM is the fake
OpenAI-compatible server, so essays and embeddings cost nothing. A missing redis-server or
initdb fails the module with the binary's name: nothing is skipped silently."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bench.chaos_services import (
    MissingBinary,
    PrivatePostgres,
    PrivateRedis,
    migrate_and_seed,
)
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, uuid_param
from tests.support.fake_openai import fake_openai
from tests.support.flows import SUBMIT, answer_all, start
from tests.support.pipeline import STATUS
from tests.support.receiver import Receiver, receiver
from tests.support.stacks import Server, StackConfig
from tests.support.worker import worker_subprocess

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

DRILL = {
    "chaos_stage_delay_seconds": 0.5,
    "job_lease_seconds": 2.0,
    "sweep_interval_seconds": 1.0,
    "requeue_grace_seconds": 1.0,
    "essay_wait_seconds": 0.5,
    "retry_delay_scale": 0.25,
}


@dataclass
class Chaos:
    pg: PrivatePostgres
    redis: PrivateRedis
    server: Server
    client: GraphQLClient
    hook: Receiver
    var_dir: Path

    def env(self) -> dict[str, str]:
        settings = self.server.settings
        assert settings.openai_api_key is not None
        env = {
            **os.environ,
            "APP_ENV": "development",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": self.redis.url,
            "REDIS_NAMESPACE": settings.redis_namespace,
            "CHROMA_URL": settings.chroma_url or "",
            "VAR_DIR": str(self.var_dir),
            "JWT_SECRET": settings.jwt_key,
            "OPENAI_API_KEY": settings.openai_api_key.get_secret_value(),
            "OPENAI_BASE_URL": settings.openai_base_url or "",
            "LOG_LEVEL": "WARNING",
        }
        env.update({k.upper(): str(v) for k, v in DRILL.items()})
        return env

    @contextmanager
    def worker(self, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
        with worker_subprocess({**self.env(), **extra}) as process:
            yield process

    async def ready(self) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.get(f"{self.server.base_url}/readyz")


@pytest.fixture(scope="module")
async def chaos(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Chaos]:
    tmp = tmp_path_factory.mktemp("chaos")
    try:
        redis = PrivateRedis(tmp)
        pg = PrivatePostgres()
    except MissingBinary as exc:
        pytest.fail(f"the restart drills need their own servers: {exc}", pytrace=False)
    from tests.support.chroma import chroma_url

    try:
        pg.init()
        pg.start()
        redis.start()
        await pg.create_database("chaos")
        await asyncio.to_thread(migrate_and_seed, pg.url("chaos"))
        chroma = await asyncio.to_thread(chroma_url)
        async with fake_openai() as fake, receiver() as hook:
            stack = StackConfig("postgres", pg.url("chaos"), redis.url,
                                f"c{uuid.uuid4().hex[:10]}", tmp, chroma)  # fmt: skip
            settings = stack.settings(
                openai_api_key="test-key", openai_base_url=fake.base_url,
                llm_timeout_seconds=2.0, **DRILL,
            )  # fmt: skip
            server = Server(settings)
            await server.start()
            client = GraphQLClient(server.base_url)
            try:
                admin = await register_and_login(client, role="ADMIN")
                await client.data(
                    "mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) "
                    "{ errors { code } } }",
                    {"i": {"url": hook.url, "events": ["ASSESSMENT_COMPLETED"]}},
                    admin.token,
                )
                yield Chaos(pg, redis, server, client, hook, tmp)
            finally:
                await client.aclose()
                await server.stop()
    finally:
        redis.close()
        pg.close()


async def _answered(chaos: Chaos, count: int) -> list[tuple[str, str]]:
    """`count` students with every question answered: (token, assessment id)."""
    drafts = []
    for _ in range(count):
        student = await register_and_login(chaos.client)
        assessment = await start(chaos.client, student.token)
        await answer_all(chaos.client, student.token, assessment)
        drafts.append((student.token, str(assessment["id"])))
    return drafts


async def _submit(chaos: Chaos, token: str, assessment_id: str) -> None:
    body = await chaos.client.data(SUBMIT, {"input": {"assessmentId": assessment_id}}, token)
    assert body["submitAssessment"]["errors"] == [], body


# Hang guards, not timing claims: recovery goes through retry backoff, and on a loaded machine
# (a full suite beside other work) every step can take many times its idle duration. A drill
# fails when recovery does not happen, so the guards are far past any honest slow run.
GUARD_SCALE = 4


async def _until(what: str, check: Any, timeout: float) -> Any:
    timeout *= GUARD_SCALE
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        await asyncio.sleep(0.1)


async def _running_stage(chaos: Chaos, ids: list[str]) -> bool:
    keys = [uuid_param(chaos.server, a) for a in ids]
    found = await rows(
        chaos.server,
        "SELECT count(*) AS n FROM assessment_stages WHERE state = 'in_progress' "
        "AND assessment_id = ANY(:keys)",
        keys=keys,
    )
    return bool(found[0]["n"])


async def _all_done(
    chaos: Chaos, drafts: list[tuple[str, str]], worker: subprocess.Popen[bytes], timeout: float
) -> None:
    async def done() -> bool:
        assert worker.poll() is None, f"the worker exited (status {worker.returncode})"
        for token, assessment_id in drafts:
            body = await chaos.client.data(STATUS, {"id": assessment_id}, token)
            status = body["assessmentStatus"]["status"]
            assert status != "FAILED", body
            if status != "DONE":
                return False
        return True

    await _until("every assessment DONE", done, timeout)


async def _exactly_once(chaos: Chaos, assessment_id: str) -> None:
    key = uuid_param(chaos.server, assessment_id)
    [counts] = await rows(
        chaos.server,
        "SELECT (SELECT count(*) FROM scores WHERE assessment_id = :a) AS scores, "
        "(SELECT count(*) FROM recommendations WHERE assessment_id = :a) AS recommendations, "
        "(SELECT count(*) FROM jobs WHERE assessment_id = :a AND type = 'pipeline') AS jobs, "
        "(SELECT count(*) FROM (SELECT 1 FROM essay_scores WHERE assessment_id = :a "
        " GROUP BY assessment_question_id, answer_hash HAVING count(*) > 1) d) AS essays_twice",
        a=key,
    )
    assert counts == {"scores": 1, "recommendations": 1, "jobs": 1, "essays_twice": 0}, (
        assessment_id,
        counts,
    )
    await chaos.hook.wait_for(assessment_id, 1)
    events = {r.headers["x-webhook-id"] for r in chaos.hook.about(assessment_id)}
    assert len(events) == 1, (assessment_id, events)


async def test_redis_restart_without_persistence_loses_nothing(chaos: Chaos) -> None:
    drafts = await _answered(chaos, 5)
    early, late = drafts[:3], drafts[3:]
    # Two jobs at a time: the other submitted pipelines wait in the queue Redis will lose.
    with chaos.worker(WORKER_MAX_JOBS="2") as worker:
        for token, assessment_id in early:
            await _submit(chaos, token, assessment_id)
        await _until("a stage running", lambda: _running_stage(chaos, [a for _, a in early]), 15)
        await asyncio.to_thread(chaos.redis.stop)
        try:
            answer = await chaos.ready()
            assert answer.status_code == 503, answer.text
            assert answer.json()["redis"] == "down"
            # Submitting needs no Redis: the row is written, the enqueue after commit fails
            # and the sweeper enqueues the job once Redis is back.
            for token, assessment_id in late:
                await _submit(chaos, token, assessment_id)
            await asyncio.sleep(1.0)
        finally:
            await asyncio.to_thread(chaos.redis.start)

        async def ready() -> bool:
            return (await chaos.ready()).status_code == 200

        await _until("/readyz ready again without restarting the API", ready, 10)
        # The worker must ride out the restart (redis-py retries, jobs/worker.py): before, the
        # first command after it made the worker exit, and nothing queued ran again.
        await _all_done(chaos, drafts, worker, timeout=40)
        for _, assessment_id in drafts:  # the worker delivers the webhooks
            await _exactly_once(chaos, assessment_id)


async def test_postgres_restart_recovers_without_restarting_the_api(chaos: Chaos) -> None:
    drafts = await _answered(chaos, 4)
    in_flight, after = drafts[:2], drafts[2:]
    with chaos.worker() as worker:
        for token, assessment_id in in_flight:
            await _submit(chaos, token, assessment_id)
        await _until(
            "a stage running", lambda: _running_stage(chaos, [a for _, a in in_flight]), 15
        )
        await asyncio.to_thread(chaos.pg.stop, "fast")
        try:
            answer = await chaos.ready()
            assert answer.status_code == 503, answer.text
            assert answer.json()["db"] == "down"
            token, assessment_id = after[0]
            body = await chaos.client.gql(STATUS, {"id": assessment_id}, token)
            assert body["errors"][0]["extensions"]["code"] == "INTERNAL", body
            await asyncio.sleep(1.0)
        finally:
            await asyncio.to_thread(chaos.pg.start)

        async def serving() -> bool:
            if (await chaos.ready()).status_code != 200:
                return False
            body = await chaos.client.gql(STATUS, {"id": after[0][1]}, after[0][0])
            return "errors" not in body

        await _until("the API serving again without a restart", serving, 10)
        for token, assessment_id in after:
            await _submit(chaos, token, assessment_id)
        await _all_done(chaos, drafts, worker, timeout=40)
        for _, assessment_id in drafts:
            await _exactly_once(chaos, assessment_id)


async def test_a_job_taken_while_postgres_is_down_runs_once_it_is_back(chaos: Chaos) -> None:
    """A worker takes the job while PostgreSQL is down: claiming its row fails, arq records a
    failed run and keeps its result, and the row stays queued. The sweeper's re-enqueue under
    the same id must not be refused by that stale result (it was, five times, and the
    assessment ended FAILED "gave up after 5 recoveries")."""
    [(token, assessment_id)] = await _answered(chaos, 1)
    await _submit(chaos, token, assessment_id)  # no worker yet: the job waits in the queue
    await asyncio.to_thread(chaos.pg.stop, "fast")
    try:
        with chaos.worker() as worker:
            await asyncio.sleep(3.0)  # started, took the job, failed to claim it
            await asyncio.to_thread(chaos.pg.start)
            await _all_done(chaos, [(token, assessment_id)], worker, timeout=20)
            await _exactly_once(chaos, assessment_id)
    finally:
        if not (chaos.pg.data / "postmaster.pid").exists():
            await asyncio.to_thread(chaos.pg.start)
