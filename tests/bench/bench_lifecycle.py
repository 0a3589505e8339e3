"""Issue 3: 50 concurrent simulated students each doing start, 10 answers and submit, against
uvicorn + PostgreSQL + Redis, in two phases:

- paced: 50 students, each thinking 1-3 s between actions (a real student takes 10-60 s per
  question, so this is a compressed hour of a large class): per-operation latency at that load;
- saturation: 50 students, no thinking at all, every next request as soon as the last returns:
  the throughput the server sustains, beside the bare `{ __typename }` ceiling of the same run.

Targets: answerQuestion p95 under 100 ms at that load; throughput at least 40% of the ceiling.
Accounts are created with bcrypt cost 4 before the clock starts: login is not what this measures.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import aiohttp

from tests.bench.harness import (
    Samples,
    client,
    gql,
    header,
    loop_until,
    ok,
    server_env,
    server_process,
)
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.flows import ANSWER, START, SUBMIT, valid_answer
from tests.support.stacks import StackConfig

STUDENTS = 50
CEILING_SECONDS = 8.0
THINK_SECONDS = (1.0, 3.0)


async def _account(http: aiohttp.ClientSession, index: int) -> str:
    email = f"bench-life-{index}-{time.time_ns()}@example.edu"
    await gql(http, REGISTER, {"input": {"email": email, "password": PASSWORD}})
    body = await gql(http, LOGIN, {"input": {"email": email, "password": PASSWORD}})
    return str(body["data"]["login"]["accessToken"])


async def run(stack: StackConfig) -> None:
    header(f"lifecycle: {STUDENTS} concurrent students: start, 10 answers, submit")
    env = server_env(stack, BCRYPT_ROUNDS="4")
    async with server_process(env) as base, client(base) as http:
        tokens = await asyncio.gather(*(_account(http, i) for i in range(STUDENTS)))

        async def bare() -> bool:
            return ok(await gql(http, "{ __typename }"))

        ceiling = Samples(f"__typename ({STUDENTS} clients)")
        deadline = time.perf_counter() + CEILING_SECONDS
        await asyncio.gather(*(loop_until(deadline, ceiling, bare) for _ in range(STUDENTS)))
        ceiling.stop()

        paced = await _journeys(http, tokens, think=True, label="paced")
        saturated = await _journeys(http, tokens, think=False, label="saturation")
        print(ceiling.row())
        for group in (paced, saturated):
            for samples in group:
                print(samples.row())
        answers_paced, everything = paced[1], saturated[3]
        ratio = everything.throughput / ceiling.throughput
        print(
            f"answerQuestion p95 {answers_paced.pct(95):.1f} ms at a student's pace (target < 100 "
            f"ms); saturation throughput {everything.throughput:.0f} req/s = {ratio:.0%} of the "
            f"bare ceiling {ceiling.throughput:.0f} req/s (target >= 40%)"
        )


async def _journeys(
    http: aiohttp.ClientSession, tokens: list[str], think: bool, label: str
) -> list[Samples]:
    rng = random.Random(7)
    starts = Samples(f"startAssessment ({label})")
    answers = Samples(f"answerQuestion ({label})")
    submits = Samples(f"submitAssessment ({label})")
    everything = Samples(f"all operations ({label})")

    async def timed_call(
        samples: Samples, document: str, variables: dict[str, Any], token: str
    ) -> dict[str, Any]:
        if think:
            await asyncio.sleep(rng.uniform(*THINK_SECONDS))
        began = time.perf_counter()
        body = await gql(http, document, variables, token)
        elapsed = time.perf_counter() - began
        for bucket in (samples, everything):
            if ok(body):
                bucket.add(elapsed)
            else:
                bucket.errors += 1
        return body

    async def student(token: str, track: str) -> None:
        body = await timed_call(starts, START, {"input": {"track": track}}, token)
        assessment = body["data"]["startAssessment"]["assessment"]
        for question in assessment["questions"]:
            variables = {
                "input": {
                    "assessmentId": assessment["id"],
                    "questionId": question["id"],
                    "answer": valid_answer(question),
                }
            }
            await timed_call(answers, ANSWER, variables, token)
        await timed_call(submits, SUBMIT, {"input": {"assessmentId": assessment["id"]}}, token)

    track = "data" if think else "web"  # one open draft per track: each phase its own
    everything.started = time.perf_counter()
    for samples in (starts, answers, submits):
        samples.started = everything.started
    await asyncio.gather(*(student(token, track) for token in tokens))
    for samples in (starts, answers, submits, everything):
        samples.stop()
    return [starts, answers, submits, everything]
