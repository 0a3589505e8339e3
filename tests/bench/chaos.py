"""`make chaos`: fault drills against the real service, printing one table.

The service runs as in production, in processes of its own: one uvicorn API (never restarted:
recovering without a restart is part of what is measured), arq workers, a PostgreSQL cluster and
a redis-server of the drill's own on free ports (the machine's shared 5432 and 6379 serve other
people's test runs and are never touched), a Chroma server, and the fake OpenAI-compatible
server (tests/support/fake_openai.py) as the LLM. Each drill has N assessments in flight:

1. worker SIGKILL mid-stage (stages slowed by CHAOS_STAGE_DELAY_SECONDS); a second worker
   finishes what the dead one held, once its lease runs out;
2. Redis restarted mid-pipeline, without persistence (or with AOF, as compose.yaml runs it,
   with --redis-aof): the jobs waiting in the queue are lost, the sweeper re-enqueues them from
   the jobs table; students also submit while Redis is down;
3. PostgreSQL restarted (`pg_ctl stop -m fast`, held down a few seconds, started: a restart
   with an outage long enough to watch) while students answer and submit;
4. the LLM failing for a while: 500/503s, 429s with retry-after, answers slower than the client
   timeout, garbage and wrong-shape JSON, and embeddings failing; essays must be scored after
   retries or by the local scorer (degraded), never lost.

Measured per drill: the failed requests students saw during the fault, what /readyz said during
and after, time from the fault's end to the first successful request and to every assessment
final, and assessments lost (not DONE, nor FAILED with a reason, by the deadline) or done twice
(more than one score, recommendation, essay score or pipeline job; more than one
assessment.completed webhook event). Target: 0 and 0. Exit status 1 when a drill misses it.

    python -m tests.bench.chaos [--only worker-kill,redis,postgres,llm] [--assessments 24]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench.chaos_lab import (
    DrillError,
    Lab,
    Outcome,
    Student,
    answer_all,
    answer_one_by_one,
    assessment_key,
    enrol,
    outcome,
    poll_until_final,
    probing,
    seconds_since,
    submit,
    wait_for_final,
)
from tests.bench.chaos_services import (
    MissingBinary,
    PrivatePostgres,
    PrivateRedis,
    ServiceProcess,
    api_process,
    migrate_and_seed,
    wait_for_http,
    worker_process,
)
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.fake_openai import Behaviour, fake_openai
from tests.support.receiver import receiver
from tests.support.stacks import ADMIN_CODE, TEST_JWT_SECRET

NAMESPACE = "chaos"
# Time compressed about 15x against the defaults (lease 30 s, sweep 10 s, grace 15 s), so a
# drill takes seconds. Backoffs are scaled less (0.25, not 0.07): a pipeline's five tries
# then span ~7 s, more than the outages below, as production's (~60 s) span a real restart.
DRILL_SETTINGS = {
    "JOB_LEASE_SECONDS": "2",
    "SWEEP_INTERVAL_SECONDS": "1",
    "REQUEUE_GRACE_SECONDS": "1",
    "RETRY_DELAY_SCALE": "0.25",
    "ESSAY_WAIT_SECONDS": "0.5",
    "LLM_TIMEOUT_SECONDS": "1.5",
    "LLM_MAX_ATTEMPTS": "3",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
}
OUTAGE_SECONDS = 3.0
LLM_FAULT_SECONDS = 8.0
# After the fault ends, every assessment must be DONE or FAILED within the completion SLA
# (PIPELINE_SLA_SECONDS' default); one that is not is counted lost.
FINAL_DEADLINE = 120.0


@dataclass
class Row:
    drill: str
    client_saw: str = "-"
    readiness: str = "-"
    recovery: str = "-"
    lost: str = "-"
    duplicated: str = "-"
    notes: list[str] = field(default_factory=list)
    ok: bool = False


# ---------------------------------------------------------------- the lab


def service_env(pg: PrivatePostgres, redis: PrivateRedis, database: str, workdir: Path,
                chroma: str, llm_url: str) -> dict[str, str]:  # fmt: skip
    return {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": pg.url(database),
        "REDIS_URL": redis.url,
        "REDIS_NAMESPACE": NAMESPACE,
        "CHROMA_URL": chroma,
        "VAR_DIR": str(workdir / "var"),
        "JWT_SECRET": TEST_JWT_SECRET,
        "ADMIN_INVITE_CODE": ADMIN_CODE,
        "BCRYPT_ROUNDS": "4",
        "AUTH_REQUESTS_PER_IP": "10000000",
        "LOGIN_FAILURES_PER_EMAIL": "10000000",
        "OPENAI_API_KEY": "chaos-test-key",
        "OPENAI_BASE_URL": llm_url,
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "console",
        **DRILL_SETTINGS,
    }


@contextlib.asynccontextmanager
async def workers(lab: Lab, names: list[str], **extra: str) -> AsyncIterator[list[ServiceProcess]]:
    env = {**lab.env, **extra}
    started = [worker_process(env, lab.workdir, name) for name in names]
    try:
        deadline = time.monotonic() + 30
        while not all("Starting worker" in w.tail(20000) for w in started):
            if time.monotonic() > deadline or not all(w.alive for w in started):
                logs = "\n".join(f"--- {w.name}\n{w.tail()}" for w in started)
                raise DrillError(f"workers did not start:\n{logs}")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # on_startup: database, Redis, LLM and Chroma clients
        yield started
    finally:
        for worker in started:
            await asyncio.to_thread(worker.stop)


async def prepare(lab: Lab) -> str:
    """An admin with a webhook endpoint for both events, a probe account, and a full vector
    index (built by a worker through the fake's embeddings). Returns the probe's email."""
    deadline = time.monotonic() + 90
    admin = f"chaos-admin-{int(time.time())}@example.edu"
    account = {"email": admin, "password": PASSWORD, "inviteCode": ADMIN_CODE}
    await lab.until_ok("register", REGISTER, {"input": account}, "", deadline)
    login = {"input": {"email": admin, "password": PASSWORD}}
    lab.admin_token = (await lab.until_ok("login", LOGIN, login, "", deadline))["login"][
        "accessToken"
    ]
    endpoint = {"url": lab.hook.url, "events": ["ASSESSMENT_COMPLETED", "ASSESSMENT_FAILED"]}
    await lab.until_ok(
        "createWebhookEndpoint",
        "mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) "
        "{ errors { code } } }",
        {"i": endpoint},
        lab.admin_token,
        deadline,
    )
    probe = f"chaos-probe-{int(time.time())}@example.edu"
    await lab.until_ok(
        "register", REGISTER, {"input": {"email": probe, "password": PASSWORD}}, "", deadline
    )
    async with workers(lab, ["worker-setup"]):
        while True:
            stats = await lab.until_ok(
                "ragIndexStats", "{ ragIndexStats { state embeddings } }", None,
                lab.admin_token, deadline,
            )  # fmt: skip
            if stats["ragIndexStats"]["state"] == "ok" and stats["ragIndexStats"]["embeddings"]:
                break
            if time.monotonic() > deadline:
                raise DrillError(f"the vector index was not built: {stats}")
            await asyncio.sleep(0.5)
    lab.calls.clear()
    return probe


async def stages_in_progress(lab: Lab, students: list[Student]) -> int:
    rows = await lab.sql(
        "SELECT count(*) AS n FROM assessment_stages WHERE state = 'in_progress' "
        "AND assessment_id = ANY($1::uuid[])",
        [assessment_key(s.assessment_id) for s in students],
    )
    return int(rows[0]["n"])


async def wait_for_stages(lab: Lab, students: list[Student], at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        running = await stages_in_progress(lab, students)
        if running >= at_least or time.monotonic() > deadline:
            return running
        await asyncio.sleep(0.1)


async def settle(tasks: list[asyncio.Task[None]], timeout: float) -> None:
    """Let the students' journeys end by themselves within `timeout`; a journey still going
    then (an assessment that never finishes) is cancelled: the outcome reports it lost."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=max(0.1, timeout))
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def recovery_cell(probes_first_ok: float | None, wall_end: float, result: Outcome) -> str:
    api = (
        "API never failed"
        if probes_first_ok is None
        else ("API NEVER back" if probes_first_ok == float("inf")
              else f"1st OK request +{probes_first_ok:.1f} s")
    )  # fmt: skip
    done = seconds_since(wall_end, result.last_completed)
    return f"{api}; all final +{done}"


def judge(row: Row, result: Outcome, readiness_ok: bool) -> None:
    row.lost = result.lost_cell()
    row.duplicated = result.duplicated_cell()
    row.ok = not result.lost and not result.duplicated and readiness_ok
    row.ok = row.ok and not result.webhooks_missing and not result.failed
    row.notes.append(
        f"{result.done}/{result.total} DONE ({result.degraded} degraded), "
        f"{len(result.failed)} FAILED with a reason, {result.recovered_jobs} pipeline jobs "
        f"recovered by the sweeper; webhooks: {result.done - result.webhooks_missing} "
        f"delivered, {result.webhooks_missing} missing, {result.redelivered} redelivered "
        "with the same X-Webhook-Id"
    )
    if result.seconds:
        ordered = sorted(result.seconds)
        late = sum(1 for seconds in ordered if seconds > FINAL_DEADLINE)
        row.notes.append(
            f"submit -> final: p50 {ordered[len(ordered) // 2]:.1f} s, max {ordered[-1]:.1f} s; "
            f"{late} past the {FINAL_DEADLINE:.0f} s completion SLA"
        )
    if result.slowest:
        row.notes.append(result.slowest)
    row.notes.extend(f"FAILED {f}" for f in result.failed[:3])
    row.notes.extend(f"LOST {f}" for f in result.lost[:5])


# ---------------------------------------------------------------- 1. worker SIGKILL


async def drill_worker_kill(lab: Lab, n: int, probe: str) -> Row:
    row = Row("1. worker SIGKILL mid-stage")
    deadline = time.monotonic() + 150
    students = await enrol(lab, n, deadline)
    await asyncio.gather(*(answer_all(lab, s, deadline) for s in students))
    async with (
        workers(lab, ["worker-1a", "worker-1b"], CHAOS_STAGE_DELAY_SECONDS="1.0") as (victim, _),
        probing(lab, probe) as probes,
    ):
        began = time.monotonic()
        await asyncio.gather(*(submit(lab, s, deadline) for s in students))
        pollers = [asyncio.create_task(poll_until_final(lab, s, deadline)) for s in students]
        running = await wait_for_stages(lab, students, max(2, n // 2), timeout=15)
        await asyncio.sleep(0.3)
        killed_at, wall = time.monotonic(), time.time()
        await asyncio.to_thread(victim.kill)
        await wait_for_final(lab, students, killed_at + FINAL_DEADLINE)
        await settle(pollers, 3)
        row.client_saw = lab.client_saw(began, time.monotonic())
        row.readiness = probes.readiness(began, time.monotonic(), None)
        first_ok = probes.first_ok_after(killed_at)
    result = await outcome(lab, students)
    row.recovery = recovery_cell(first_ok, wall, result)
    judge(row, result, readiness_ok="throughout" in row.readiness)
    row.notes.insert(0, f"killed worker-1a with {running} stages in progress")
    return row


# ---------------------------------------------------------------- 2. Redis restart


async def drill_redis_restart(lab: Lab, n: int, probe: str) -> Row:
    from redis.asyncio import Redis

    row = Row(f"2. Redis restart ({lab.redis.persistence})")
    deadline = time.monotonic() + 150
    students = await enrol(lab, n, deadline)
    await asyncio.gather(*(answer_all(lab, s, deadline) for s in students))
    during = max(1, n // 6)
    early, late = students[:-during], students[-during:]
    # Few jobs per worker, so some pipelines wait in the queue when Redis goes.
    async with (
        workers(lab, ["worker-2a", "worker-2b"], CHAOS_STAGE_DELAY_SECONDS="1.0",
                WORKER_MAX_JOBS="5") as started,
        probing(lab, probe) as probes,
    ):  # fmt: skip
        began = time.monotonic()
        await asyncio.gather(*(submit(lab, s, deadline) for s in early))
        pollers = [asyncio.create_task(poll_until_final(lab, s, deadline)) for s in students]
        await wait_for_stages(lab, early, 4, timeout=15)
        await asyncio.sleep(0.5)
        redis = Redis.from_url(lab.redis.url)
        try:
            queued = [j.decode() for j in await redis.zrange(f"{NAMESPACE}:arq:queue", 0, -1)]
            busy = [bool(await redis.exists(f"arq:in-progress:{j}")) for j in queued]
            waiting = sum(1 for j, b in zip(queued, busy, strict=True)
                          if not b and not j.startswith("cron:"))  # fmt: skip
        finally:
            await redis.aclose()
        stopping = time.monotonic()
        await asyncio.to_thread(lab.redis.stop)
        down_at = time.monotonic()
        # Students keep submitting while Redis is down: the row is written, the enqueue
        # after commit fails, and the sweeper must find the job once Redis is back.
        await asyncio.gather(*(submit(lab, s, deadline) for s in late))
        await asyncio.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
        starting = time.monotonic()
        await asyncio.to_thread(lab.redis.start)
        up_at, wall = time.monotonic(), time.time()
        await wait_for_final(lab, students, up_at + FINAL_DEADLINE)
        await settle(pollers, 3)
        row.client_saw = lab.client_saw(stopping, up_at)
        row.readiness = probes.readiness(down_at, starting, up_at)
        first_ok = probes.first_ok_after(up_at)
        row.notes.append(f"whole drill: {lab.client_saw(began, time.monotonic())}")
        survivors = [w.name for w in started if w.alive]
    result = await outcome(lab, students)
    row.recovery = recovery_cell(first_ok, wall, result)
    readiness_ok = "LIED" not in row.readiness and "NEVER" not in row.readiness
    judge(row, result, readiness_ok)
    row.notes.insert(0, f"{waiting} jobs waiting (not running) in the queue at the restart, "
                        f"{len(late)} submitted while Redis was down for {OUTAGE_SECONDS:.0f} s; "
                        f"workers alive after: {', '.join(survivors) or 'none'}")  # fmt: skip
    return row


# ---------------------------------------------------------------- 3. PostgreSQL restart


async def drill_postgres_restart(lab: Lab, n: int, probe: str) -> Row:
    row = Row("3. PostgreSQL restart under load")
    deadline = time.monotonic() + 150
    students = await enrol(lab, n, deadline)
    # A third have answered everything and submit as the drill starts (their pipelines are
    # running or queued when PostgreSQL goes); the others answer question by question and
    # submit through the outage.
    early, answering = students[: n // 3], students[n // 3 :]
    await asyncio.gather(*(answer_all(lab, s, deadline) for s in early))
    async with (
        # Few jobs per worker: submitted pipelines wait in the queue, and workers take some
        # of them while PostgreSQL is down (their claim fails), as a busy system would.
        workers(
            lab, ["worker-3a", "worker-3b"], CHAOS_STAGE_DELAY_SECONDS="0.5", WORKER_MAX_JOBS="3"
        ),
        probing(lab, probe) as probes,
    ):
        began = time.monotonic()

        async def submitted(student: Student) -> None:
            await submit(lab, student, deadline)
            await poll_until_final(lab, student, deadline)

        async def journey(index: int, student: Student) -> None:
            await asyncio.sleep(2.0 * index / len(answering))
            await answer_one_by_one(lab, student, think=0.25, deadline=deadline)
            await submitted(student)

        journeys = [asyncio.create_task(submitted(s)) for s in early]
        journeys += [asyncio.create_task(journey(i, s)) for i, s in enumerate(answering)]
        running = await wait_for_stages(lab, early, 4, timeout=10)
        await asyncio.sleep(max(0.0, began + 1.5 - time.monotonic()))
        stopping = time.monotonic()
        await asyncio.to_thread(lab.pg.stop, "fast")
        down_at = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        starting = time.monotonic()
        await asyncio.to_thread(lab.pg.start)
        up_at, wall = time.monotonic(), time.time()
        await settle(journeys, up_at + FINAL_DEADLINE - time.monotonic())
        await wait_for_final(lab, students, up_at + FINAL_DEADLINE)
        row.client_saw = lab.client_saw(stopping, up_at)
        row.readiness = probes.readiness(down_at, starting, up_at)
        first_ok = probes.first_ok_after(up_at)
        row.notes.append(f"whole drill: {lab.client_saw(began, time.monotonic())}")
    result = await outcome(lab, students)
    row.recovery = recovery_cell(first_ok, wall, result)
    readiness_ok = "LIED" not in row.readiness and "NEVER" not in row.readiness
    judge(row, result, readiness_ok)
    row.notes.insert(0, (
        f"PostgreSQL down {OUTAGE_SECONDS:.0f} s (pg_ctl stop -m fast, start) with {len(early)} "
        f"pipelines submitted ({running} stages running), while {len(answering)} students "
        "answered question by question and submitted"
    ))  # fmt: skip
    return row


# ---------------------------------------------------------------- 4. a failing LLM


def llm_faults() -> itertools.cycle[dict[str, Any]]:
    """What a failing provider does, in turn; one answer in five is good, so some essays are
    scored after retries and others fall back."""
    timeout = float(DRILL_SETTINGS["LLM_TIMEOUT_SECONDS"]) * 2
    kinds: list[dict[str, Any]] = [
        {"status": 500},
        {"status": 429, "headers": {"retry-after": "1"}},
        {"delay": timeout},
        {"body": "<html>502 Bad Gateway</html>"},
        {},
        {"status": 503},
        {"document": {"essays": [], "items": []}},  # valid JSON, wrong shape
        {"status": 429, "headers": {"retry-after-ms": "300"}},
        {"body": '{"essays": [{"id": "E1", "criteria": [{"name": '},  # cut off
        {},
    ]
    return itertools.cycle(kinds)


async def drill_llm_faults(lab: Lab, n: int, probe: str) -> Row:
    row = Row("4. LLM 5xx/429/timeouts/garbage")
    deadline = time.monotonic() + 150
    students = await enrol(lab, n, deadline)
    after = await enrol(lab, 2, deadline)
    await asyncio.gather(*(answer_all(lab, s, deadline) for s in [*students, *after]))
    fake = lab.fake
    faults = llm_faults()
    stop = asyncio.Event()

    async def inject() -> None:
        while not stop.is_set():
            for purpose in ("essays", "fusion"):
                while sum(1 for b in fake.script if b.purpose == purpose) < 10:
                    fake.script.append(Behaviour(purpose=purpose, **next(faults)))
            await asyncio.sleep(0.05)

    async with workers(lab, ["worker-4a", "worker-4b"]), probing(lab, probe) as probes:
        began = time.monotonic()
        requests_before = len(fake.requests)
        fake.embeddings_status = 503
        injector = asyncio.create_task(inject())

        async def submit_spread(index: int, student: Student) -> None:
            await asyncio.sleep((LLM_FAULT_SECONDS - 2) * index / len(students))
            await submit(lab, student, deadline)
            await poll_until_final(lab, student, deadline)

        journeys = [asyncio.create_task(submit_spread(i, s)) for i, s in enumerate(students)]
        await asyncio.sleep(LLM_FAULT_SECONDS)
        stop.set()
        await injector
        fake.script.clear()
        fake.embeddings_status = 200
        healed_at, wall = time.monotonic(), time.time()
        llm_calls = len(fake.requests) - requests_before
        await asyncio.gather(*(submit(lab, s, deadline) for s in after))
        journeys += [asyncio.create_task(poll_until_final(lab, s, deadline)) for s in after]
        await settle(journeys, healed_at + FINAL_DEADLINE - time.monotonic())
        await wait_for_final(lab, [*students, *after], healed_at + FINAL_DEADLINE)
        row.client_saw = lab.client_saw(began, healed_at)
        row.readiness = probes.readiness(began, time.monotonic(), None)
        first_ok = probes.first_ok_after(healed_at)
    result = await outcome(lab, students)
    afterwards = await outcome(lab, after, webhook_wait=4)
    row.recovery = recovery_cell(first_ok, wall, result)
    over_cap = await lab.sql(
        "SELECT count(*) AS n FROM (SELECT assessment_id FROM llm_usage "
        "WHERE assessment_id = ANY($1::uuid[]) GROUP BY assessment_id HAVING count(*) > 5) c",
        [assessment_key(s.assessment_id) for s in students],
    )
    judge(row, result, readiness_ok="throughout" in row.readiness)
    back = afterwards.scorers.get("llm", 0)
    row.ok = row.ok and back == len(after) and not afterwards.lost
    row.notes.insert(0, (
        f"{LLM_FAULT_SECONDS:.0f} s of faults over {llm_calls} chat calls; essays scored by: "
        + ", ".join(f"{k} {v}" for k, v in result.scorers.most_common())
        + f"; assessments over the 5-call cap: {over_cap[0]['n']}; submitted after the fault: "
        f"{back}/{len(after)} scored by the LLM, not degraded: "
        f"{len(after) - afterwards.degraded}/{len(after)}, DONE "
        f"+{seconds_since(wall, afterwards.last_completed)} after it"
    ))  # fmt: skip
    return row


# ---------------------------------------------------------------- the run

DRILLS: dict[str, Callable[[Lab, int, str], Awaitable[Row]]] = {
    "worker-kill": drill_worker_kill,
    "redis": drill_redis_restart,
    "postgres": drill_postgres_restart,
    "llm": drill_llm_faults,
}


def print_table(rows: list[Row]) -> None:
    headers = ["drill", "client saw", "readiness during/after", "recovery time", "lost",
               "duplicated"]  # fmt: skip
    cells = [[r.drill, r.client_saw, r.readiness, r.recovery, r.lost, r.duplicated]
             for r in rows]  # fmt: skip
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)) + " |")
    print()
    for r in rows:
        print(f"{r.drill} [{'ok' if r.ok else 'MISSED THE TARGET'}]")
        for note in r.notes:
            print(f"    {note}")


async def run(names: list[str], n: int, redis_aof: bool, keep: bool) -> int:
    from tests.support.chroma import chroma_url

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    try:
        redis = PrivateRedis(workdir, aof=redis_aof)
        pg = PrivatePostgres()
    except MissingBinary as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"make chaos: {exc}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    api: ServiceProcess | None = None
    try:
        pg.init()
        pg.start()
        redis.start()
        await pg.create_database("chaos")
        await asyncio.to_thread(migrate_and_seed, pg.url("chaos"))
        chroma = await asyncio.to_thread(chroma_url)
        print(f"private PostgreSQL :{pg.port}, redis-server :{redis.port} ({redis.persistence}), "
              f"Chroma {chroma}; logs in {workdir}", flush=True)  # fmt: skip
        async with fake_openai() as fake, receiver() as hook:
            env = service_env(pg, redis, "chaos", workdir, chroma, fake.base_url)
            lab = Lab(workdir, pg, redis, "chaos", env, fake, hook)
            api, lab.base_url = api_process(env, workdir)
            await asyncio.to_thread(wait_for_http, lab.base_url, "/healthz", api)
            pid = api.process.pid if api.process else None
            timeout = aiohttp.ClientTimeout(total=15)
            connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=3)
            async with aiohttp.ClientSession(lab.base_url, timeout=timeout,
                                             connector=connector) as http:  # fmt: skip
                lab.http = http
                probe = await prepare(lab)
                print(f"ready after {time.monotonic() - started:.0f} s; drills: "
                      f"{', '.join(names)}, {n} assessments each", flush=True)  # fmt: skip
                for name in names:
                    drill_started = time.monotonic()
                    try:
                        row = await DRILLS[name](lab, n, probe)
                    except Exception as exc:
                        row = Row(name, client_saw=f"ERROR: {exc}"[:120])
                        row.notes.append(traceback.format_exc(limit=3))
                        if api is not None:
                            row.notes.append("api log: " + api.tail(1500))
                    row.notes.append(f"drill took {time.monotonic() - drill_started:.0f} s")
                    rows.append(row)
                    print(f"  {row.drill}: {'ok' if row.ok else 'MISSED'} "
                          f"({time.monotonic() - drill_started:.0f} s)", flush=True)  # fmt: skip
                    lab.calls.clear()
            same = api.alive and api.process is not None and api.process.pid == pid
            if not same:
                for row in rows:
                    row.ok = False
                    row.notes.append("the API process did not survive the drills")
    finally:
        if api is not None:
            api.stop()
        redis.close()
        pg.close()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"make chaos: {len(rows)} drills in {time.monotonic() - started:.0f} s "
          "(one API process throughout, never restarted)")  # fmt: skip
    print()
    print_table(rows)
    return 0 if rows and all(r.ok for r in rows) else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default=",".join(DRILLS), help="comma-separated drills")
    parser.add_argument("--assessments", type=int, default=24, help="in flight per drill")
    parser.add_argument(
        "--redis-aof",
        action="store_true",
        help="run Redis with AOF on, as compose.yaml does (default: no persistence)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs directory")
    arguments = parser.parse_args(argv)
    names = [n.strip() for n in arguments.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        parser.error(f"unknown drill(s) {unknown}; choose from {list(DRILLS)}")
    return asyncio.run(run(names, arguments.assessments, arguments.redis_aof, arguments.keep))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
