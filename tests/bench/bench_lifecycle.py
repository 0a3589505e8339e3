"""Issue 3: 50 concurrent simulated students each doing start, 10 answers and submit, against
uvicorn + PostgreSQL + Redis. Prints throughput and p50/p95 per operation beside the bare
`{ __typename }` ceiling measured in the same run (50 clients, closed loop).

Targets: answerQuestion p95 under 100 ms at that load; throughput at least 40% of the ceiling.
Accounts are created with bcrypt cost 4 before the clock starts: login is not what this measures.
"""

from __future__ import annotations

import asyncio
import time

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

        starts, answers, submits = (
            Samples("startAssessment"),
            Samples("answerQuestion"),
            Samples("submitAssessment"),
        )
        everything = Samples("all operations")

        async def timed_call(samples: Samples, document: str, variables: dict, token: str) -> dict:
            began = time.perf_counter()
            body = await gql(http, document, variables, token)
            elapsed = time.perf_counter() - began
            if ok(body):
                samples.add(elapsed)
                everything.add(elapsed)
            else:
                samples.errors += 1
                everything.errors += 1
            return body

        async def student(token: str) -> None:
            body = await timed_call(starts, START, {"input": {"track": "general"}}, token)
            assessment = body["data"]["startAssessment"]["assessment"]
            for question in assessment["questions"]:
                await timed_call(
                    answers,
                    ANSWER,
                    {"input": {"assessmentId": assessment["id"], "questionId": question["id"],
                               "answer": valid_answer(question)}},
                    token,
                )  # fmt: skip
            await timed_call(submits, SUBMIT, {"input": {"assessmentId": assessment["id"]}}, token)

        everything.started = time.perf_counter()
        for samples in (starts, answers, submits):
            samples.started = everything.started
        await asyncio.gather(*(student(t) for t in tokens))
        for samples in (starts, answers, submits, everything):
            samples.stop()
        for samples in (ceiling, starts, answers, submits, everything):
            print(samples.row())
        ratio = everything.throughput / ceiling.throughput
        print(
            f"answerQuestion p95 {answers.pct(95):.1f} ms (target < 100 ms); journey throughput "
            f"{everything.throughput:.0f} req/s = {ratio:.0%} of the bare ceiling "
            f"{ceiling.throughput:.0f} req/s (target >= 40%)"
        )
