"""`make bench-load` (issue 8, NFR1): simulated students doing the whole journey against uvicorn +
PostgreSQL + Redis + an arq worker + a Chroma server, with the LLM behind the fake
OpenAI-compatible server answering in 1-3 s, as a real model would.

Each student: register, login, startAssessment, ten answerQuestion calls at a student's pace
(thinking between them), submitAssessment, subscribe to assessmentProgress until DONE, read the
result. Students of a level arrive evenly over RAMP_SECONDS and each journey lasts longer than
the ramp, so at the end of the ramp every student of the level is mid-journey at once: the level
is the number of concurrent students.

Levels rise until one breaks NFR1 (an operation's p95 at or over 500 ms, or any error); the
largest level held is printed beside the bare `{ __typename }` ceiling of the same run, measured
before the first level with the server otherwise idle.

`--students 100,200,300` sets the levels; `--bcrypt-rounds` the password-hash cost (see
README "Reliability": the default is the production cost).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from tests.bench.harness import (
    Samples,
    client,
    gql,
    header,
    loop_until,
    ok,
    server_env,
    server_process,
    worker_process,
)
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.fake_openai import fake_openai
from tests.support.flows import ANSWER, START, SUBMIT, valid_answer
from tests.support.pipeline import RESULT
from tests.support.stacks import provision

LEVELS = (100, 200, 300, 400)
# A real student takes 10-60 s per question; 6-12 s compresses the journey to about two
# minutes while keeping each student's requests sparse, as a class's are.
RAMP_SECONDS = 90.0
THINK_SECONDS = (6.0, 12.0)
LLM_SECONDS = (1.0, 3.0)
P95_LIMIT_MS = 500.0
CEILING_SECONDS = 8.0
CEILING_CLIENTS = 50
DONE_TIMEOUT_SECONDS = 300.0
SATURATION_STUDENTS = 100
WATCH = "subscription($id: ID!) { assessmentProgress(assessmentId: $id) { status } }"
SIGN_IN = ("register", "login")  # bcrypt-bound: a CPU budget of their own (README)
OPERATIONS = ("register", "login", "startAssessment", "answerQuestion", "submitAssessment",
              "assessmentProgress (subscribe)", "result")  # fmt: skip


@dataclass
class Level:
    students: int
    samples: dict[str, Samples] = field(default_factory=dict)
    done: Samples = field(init=False)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.samples = {name: Samples(name) for name in OPERATIONS}
        self.done = Samples("submit -> DONE")

    def worst_p95(self, leaving_out: tuple[str, ...] = ()) -> tuple[str, float]:
        kept = [(n, s) for n, s in self.samples.items() if n not in leaving_out and s.seconds]
        name, samples = max(kept, key=lambda item: item[1].pct(95))
        return name, samples.pct(95)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples.values()) + self.done.errors

    def held(self, leaving_out: tuple[str, ...] = ()) -> bool:
        return self.errors == 0 and self.worst_p95(leaving_out)[1] < P95_LIMIT_MS

    @property
    def requests_per_second(self) -> float:
        started = min(s.started for s in self.samples.values())
        stopped = max(s.stopped or started for s in self.samples.values())
        count = sum(len(s.seconds) for s in self.samples.values())
        return count / max(stopped - started, 1e-9)


class Journey:
    """One student, timing each operation into the level's samples."""

    def __init__(
        self, http: aiohttp.ClientSession, ws_url: str, level: Level, seed: int, paced: bool = True
    ):
        self.http, self.ws_url, self.level, self.paced = http, ws_url, level, paced
        self.rng = random.Random(seed)
        self.token: str | None = None

    async def call(self, operation: str, document: str, variables: dict[str, Any]) -> Any:
        samples = self.level.samples[operation]
        began = time.perf_counter()
        try:
            body = await gql(self.http, document, variables, self.token)
        except Exception as error:  # a failed request is a counted error
            samples.errors += 1
            self.level.failures.append(f"{operation}: {error!r}"[:200])
            raise
        if not ok(body):
            samples.errors += 1
            self.level.failures.append(f"{operation}: {json.dumps(body)[:200]}")
            raise RuntimeError(operation)
        samples.add(time.perf_counter() - began)
        return body["data"]

    async def think(self) -> None:
        if self.paced:
            await asyncio.sleep(self.rng.uniform(*THINK_SECONDS))

    async def sign_in(self) -> None:
        email = f"load-{uuid.uuid4().hex}@example.edu"
        account = {"email": email, "password": PASSWORD}
        await self.call("register", REGISTER, {"input": {**account, "name": "Load Student"}})
        login = await self.call("login", LOGIN, {"input": account})
        self.token = login["login"]["accessToken"]

    async def run(self) -> None:
        if self.token is None:
            await self.sign_in()
        await self.think()
        started = await self.call("startAssessment", START, {"input": {"track": "general"}})
        assessment = started["startAssessment"]["assessment"]
        for question in assessment["questions"]:
            await self.think()
            answer = {"assessmentId": assessment["id"], "questionId": question["id"],
                      "answer": valid_answer(question)}  # fmt: skip
            await self.call("answerQuestion", ANSWER, {"input": answer})
        await self.think()
        submitted_at = time.perf_counter()
        await self.call("submitAssessment", SUBMIT, {"input": {"assessmentId": assessment["id"]}})
        if not self.paced:
            return  # saturation measures request throughput: no waiting on the pipeline
        await self.watch_until_done(assessment["id"], submitted_at)
        await self.call("result", RESULT, {"id": assessment["id"]})

    async def watch_until_done(self, assessment_id: str, submitted_at: float) -> None:
        subscribe = self.level.samples["assessmentProgress (subscribe)"]
        began = time.perf_counter()
        protocols: Any = ["graphql-transport-ws"]
        async with websockets.connect(self.ws_url, subprotocols=protocols, open_timeout=60) as ws:
            init = {"Authorization": f"Bearer {self.token}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            await ws.recv()
            payload = {"query": WATCH, "variables": {"id": assessment_id}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            first = True
            async with asyncio.timeout(DONE_TIMEOUT_SECONDS):
                async for raw in ws:
                    message = json.loads(raw)
                    if message["type"] == "next" and first:
                        first = False
                        subscribe.add(time.perf_counter() - began)  # the snapshot arrived
                    if message["type"] == "next":
                        status = message["payload"]["data"]["assessmentProgress"]["status"]
                        if status == "DONE":
                            self.level.done.add(time.perf_counter() - submitted_at)
                            return
                        if status == "FAILED":
                            break
                    elif message["type"] != "next":
                        break
        self.level.done.errors += 1
        self.level.failures.append(f"assessment {assessment_id} did not reach DONE")


async def run_level(
    http: aiohttp.ClientSession, ws_url: str, students: int, paced: bool = True
) -> Level:
    level = Level(students)
    now = time.perf_counter()
    for samples in [*level.samples.values(), level.done]:
        samples.started = now

    journeys = [Journey(http, ws_url, level, seed=i, paced=paced) for i in range(students)]
    if not paced:
        # Saturation measures the assessment's operations: accounts first, off the clock
        # (bcrypt would otherwise be all it measures).
        await asyncio.gather(*(journey.sign_in() for journey in journeys))
        level = Level(students)
        for journey in journeys:
            journey.level = level
        now = time.perf_counter()
        for samples in [*level.samples.values(), level.done]:
            samples.started = now

    async def arrive(index: int) -> None:
        if paced:
            await asyncio.sleep(RAMP_SECONDS * index / students)
        # A failed step ends the journey; it was counted where it happened.
        with contextlib.suppress(Exception):
            await journeys[index].run()

    await asyncio.gather(*(arrive(i) for i in range(students)))
    for samples in [*level.samples.values(), level.done]:
        samples.stop()
    return level


async def ceiling(http: aiohttp.ClientSession) -> Samples:
    async def bare() -> bool:
        return ok(await gql(http, "{ __typename }"))

    samples = Samples(f"__typename ({CEILING_CLIENTS} clients)")
    deadline = time.perf_counter() + CEILING_SECONDS
    await asyncio.gather(*(loop_until(deadline, samples, bare) for _ in range(CEILING_CLIENTS)))
    samples.stop()
    return samples


def report(level: Level, bare: Samples) -> None:
    name, worst = level.worst_p95()
    verdict = "held" if level.held() else "NOT held"
    if not level.held() and level.held(SIGN_IN):
        verdict += " (held but for sign-in)"
    print(f"-- {level.students} concurrent students: {verdict} (worst p95 {worst:.0f} ms, "
          f"{name}; errors {level.errors}); {level.requests_per_second:.0f} GraphQL req/s = "
          f"{level.requests_per_second / bare.throughput:.0%} of the bare ceiling")  # fmt: skip
    for samples in [*level.samples.values(), level.done]:
        print("   " + samples.row())
    for failure in level.failures[:5]:
        print(f"   ! {failure}")


async def main(levels: list[int], bcrypt_rounds: int) -> None:
    header(
        f"load: the full journey, {RAMP_SECONDS:.0f} s ramp, think {THINK_SECONDS} s, "
        f"LLM {LLM_SECONDS} s, bcrypt cost {bcrypt_rounds}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            provision("postgres", Path(tmp)) as stack,
            fake_openai(latency=LLM_SECONDS) as llm,
        ):
            env = server_env(
                stack,
                BCRYPT_ROUNDS=str(bcrypt_rounds),
                OPENAI_API_KEY="sk-bench-load",
                OPENAI_BASE_URL=llm.base_url,
                CHROMA_URL=stack.chroma_url or "",
                LLM_MONTHLY_BUDGET_USD="1000",
            )
            async with (
                server_process(env) as base,
                worker_process(env),
                client(base, connections=2000) as http,
            ):
                ws_url = base.replace("http://", "ws://") + "/graphql"
                bare = await ceiling(http)
                print(bare.row())
                held = held_but_sign_in = 0
                for students in levels:
                    level = await run_level(http, ws_url, students)
                    report(level, bare)
                    if level.held():
                        held = students
                    if not level.held(SIGN_IN):
                        break
                    held_but_sign_in = students
                saturated = await run_level(http, ws_url, SATURATION_STUDENTS, paced=False)
                print(f"-- saturation: {SATURATION_STUDENTS} signed-in students, no thinking, "
                      "no waiting for results")  # fmt: skip
                for samples in saturated.samples.values():
                    if samples.seconds:
                        print("   " + samples.row())
                ratio = saturated.requests_per_second / bare.throughput
    print(
        f"largest level held with every operation's p95 < {P95_LIMIT_MS:.0f} ms and no errors: "
        f"{held or 'none'} concurrent students (target >= 300); leaving out sign-in (bcrypt): "
        f"{held_but_sign_in or 'none'}; saturation "
        f"{saturated.requests_per_second:.0f} GraphQL req/s = {ratio:.0%} of the bare ceiling "
        f"{bare.throughput:.0f} req/s (target >= 50%)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default=",".join(map(str, LEVELS)))
    parser.add_argument("--bcrypt-rounds", type=int, default=12)
    arguments = parser.parse_args()
    asyncio.run(main([int(n) for n in arguments.students.split(",")], arguments.bcrypt_rounds))
