"""`make bench-cpu` (issue 18): server CPU time per operation.

CPU time, not wall time: on a shared machine wall time measures the neighbours as much as the
code. The figure is the API process's run time summed over all its threads, read from the
kernel's per-thread accounting (/proc/PID/task/*/schedstat, nanoseconds), taken before and after
a phase of hundreds of operations of one kind sent by one client, one at a time, divided by the
count. The arq worker runs in its own process, so scoring is not in these figures: they are what
one API process pays to serve each request.

The floors are measured in the same run: a bare Starlette JSON endpoint and a stock Strawberry
`{ __typename }`, each under uvicorn in its own process. Each figure is the median of
`--rounds` rounds (default 3) with the range beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench.harness import client, gql, header, launched, ok, server_env, worker_process
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.flows import ANSWER, START, SUBMIT, valid_answer
from tests.support.pipeline import RESULT, STATUS
from tests.support.stacks import provision

TYPENAME = "{ __typename }"
ME = "{ me { id email role } }"
# (operation, target in ms, or a ratio to the service's `{ __typename }`)
TARGETS: dict[str, tuple[str, float]] = {
    "service { __typename }": ("ms", 1.0),
    "answerQuestion": ("x", 3.0),
    "submitAssessment": ("x", 4.0),
    "startAssessment": ("ms", 8.0),
    "result": ("ms", 6.0),
}
SETTLE_SECONDS = 0.5  # let the previous phase's background work (pub/sub, logging) finish


def cpu_seconds(pid: int) -> float:
    """Run time of every thread of `pid` so far, in seconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended between the listing and the read
    return total / 1e9


@dataclass
class Figures:
    per_op_ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, ms: float) -> None:
        self.per_op_ms.setdefault(name, []).append(ms)

    def median(self, name: str) -> float:
        return statistics.median(self.per_op_ms[name])


async def phase(
    figures: Figures, name: str, pid: int, calls: list[Callable[[], Awaitable[bool]]]
) -> None:
    await asyncio.sleep(SETTLE_SECONDS)
    failures = 0
    before = cpu_seconds(pid)
    for call in calls:
        if not await call():
            failures += 1
    spent = cpu_seconds(pid) - before
    if failures:
        raise RuntimeError(f"{name}: {failures} of {len(calls)} calls failed")
    figures.add(name, spent / len(calls) * 1000)


def _query(
    http: aiohttp.ClientSession, document: str, variables: dict[str, Any], token: str | None
) -> Callable[[], Awaitable[bool]]:
    async def call() -> bool:
        return ok(await gql(http, document, variables, token))

    return call


async def floors(figures: Figures, operations: int) -> None:
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    bare_target = "tests.bench.cpu_floor:bare_app"
    async with (
        launched(env, bare_target, factory=False) as bare,
        client(bare.base, connections=1) as http,
    ):

        async def post() -> bool:
            async with http.post("/json", json={"query": TYPENAME}) as response:
                return response.status == 200 and bool(await response.json())

        await phase(figures, "bare Starlette JSON", bare.pid, [post] * operations)
    stock_target = "tests.bench.cpu_floor:stock_strawberry_app"
    async with (
        launched(env, stock_target, factory=False) as stock,
        client(stock.base, connections=1) as http,
    ):
        call = _query(http, TYPENAME, {}, None)
        await phase(figures, "stock Strawberry { __typename }", stock.pid, [call] * operations)


async def sign_in(http: aiohttp.ClientSession, count: int) -> list[str]:
    tokens = []
    for _ in range(count):
        account = {"email": f"cpu-{uuid.uuid4().hex}@example.edu", "password": PASSWORD}
        assert ok(await gql(http, REGISTER, {"input": {**account, "name": "CPU Bench"}}))
        login = await gql(http, LOGIN, {"input": account})
        tokens.append(login["data"]["login"]["accessToken"])
    return tokens


async def wait_done(http: aiohttp.ClientSession, pairs: list[tuple[str, str]]) -> None:
    for token, assessment_id in pairs:
        for _ in range(1200):
            body = await gql(http, STATUS, {"id": assessment_id}, token)
            if body["data"]["assessmentStatus"]["status"] == "DONE":
                break
            await asyncio.sleep(0.25)
        else:
            raise RuntimeError(f"assessment {assessment_id} not DONE after 5 minutes")


async def service_round(
    figures: Figures, http: aiohttp.ClientSession, pid: int, students: int, operations: int
) -> None:
    tokens = await sign_in(http, students)
    await phase(
        figures, "service { __typename }", pid, [_query(http, TYPENAME, {}, None)] * operations
    )
    await phase(
        figures, "me", pid, [_query(http, ME, {}, t) for t in tokens] * (operations // students)
    )
    started: list[tuple[str, dict[str, Any]]] = []

    def start_call(token: str) -> Callable[[], Awaitable[bool]]:
        async def call() -> bool:
            body = await gql(http, START, {"input": {"track": "general"}}, token)
            started.append((token, body["data"]["startAssessment"]["assessment"]))
            return ok(body)

        return call

    await phase(figures, "startAssessment", pid, [start_call(t) for t in tokens])
    answers = [
        _query(
            http,
            ANSWER,
            {"input": {"assessmentId": a["id"], "questionId": q["id"], "answer": valid_answer(q)}},
            token,
        )
        for token, a in started
        for q in a["questions"]
    ]
    await phase(figures, "answerQuestion", pid, answers)
    submits = [
        _query(http, SUBMIT, {"input": {"assessmentId": a["id"]}}, token) for token, a in started
    ]
    await phase(figures, "submitAssessment", pid, submits)
    pairs = [(token, a["id"]) for token, a in started]
    await wait_done(http, pairs)
    reads = [_query(http, RESULT, {"id": a}, t) for t, a in pairs] * max(1, operations // students)
    await phase(figures, "result", pid, reads)


def report(figures: Figures) -> None:
    service = figures.median("service { __typename }")
    print(f"{'operation':<34} {'CPU/op (median)':>16} {'range':>17} {'x __typename':>13}  target")
    for name, values in figures.per_op_ms.items():
        median = statistics.median(values)
        spread = f"{min(values):.2f}-{max(values):.2f} ms"
        ratio = median / service if service else float("nan")
        target = ""
        if name in TARGETS:
            unit, limit = TARGETS[name]
            met = (median if unit == "ms" else ratio) <= limit
            wanted = f"<= {limit:g} ms" if unit == "ms" else f"<= {limit:g}x"
            target = f"{wanted} {'met' if met else 'MISSED'}"
        print(f"{name:<34} {median:>13.2f} ms {spread:>17} {ratio:>12.1f}x  {target}")


async def main(rounds: int, students: int, operations: int) -> None:
    header(
        f"cpu: server CPU per operation, one client, {rounds} rounds "
        f"({operations} light operations, {students} assessments per round)"
    )
    figures = Figures()
    for _ in range(rounds):
        await floors(figures, operations)
    with tempfile.TemporaryDirectory() as tmp:
        async with provision("postgres", Path(tmp)) as stack:
            env = server_env(stack, BCRYPT_ROUNDS="4", RETAKE_COOLDOWN_HOURS="0")
            async with (
                launched(env) as service,
                worker_process(env),
                client(service.base, connections=1) as http,
            ):
                for _ in range(rounds):
                    await service_round(figures, http, service.pid, students, operations)
    report(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--operations", type=int, default=400)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.students, arguments.operations))
