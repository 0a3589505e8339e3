"""What a fault drill drives and watches: students using the API the way a client does (retrying
what failed), probes of /readyz and of a GraphQL request every 200 ms, and the database and
webhook receiver read back afterwards to count assessments lost or done twice."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from domain import ids
from tests.bench.chaos_services import PrivatePostgres, PrivateRedis
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.fake_openai import FakeOpenAI
from tests.support.flows import ANSWER, SAVE, START, SUBMIT, valid_answer
from tests.support.pipeline import STATUS
from tests.support.receiver import Receiver

PROBE_INTERVAL = 0.2
FINAL = {"DONE", "FAILED"}


class DrillError(RuntimeError):
    """The drill itself could not go on (not a finding about the service)."""


@dataclass
class Call:
    at: float  # time.monotonic() when the request was sent
    op: str
    outcome: str  # "ok", an error code, "HTTP <status>" or a transport error


@dataclass
class Lab:
    """Everything the drills share: the private PostgreSQL and Redis, the one API process
    (never restarted: recovering without a restart is part of what is measured), the fake
    LLM, the webhook receiver, and the record of every request a student made."""

    workdir: Path
    pg: PrivatePostgres
    redis: PrivateRedis
    database: str
    env: dict[str, str]
    fake: FakeOpenAI
    hook: Receiver
    base_url: str = ""
    http: aiohttp.ClientSession | None = None
    admin_token: str = ""
    calls: list[Call] = field(default_factory=list)

    # ------------------------------------------------------------ requests

    async def call(
        self, op: str, query: str, variables: dict[str, Any] | None = None, token: str = "",
        accept: frozenset[str] = frozenset(),
    ) -> dict[str, Any] | None:  # fmt: skip
        """One GraphQL request, recorded. The body's data when it succeeded (or failed only
        with a code in `accept`), else None."""
        assert self.http is not None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        sent = time.monotonic()
        outcome = "ok"
        body: dict[str, Any] | None = None
        try:
            async with self.http.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            ) as response:
                if response.status != 200:
                    outcome = f"HTTP {response.status}"
                else:
                    body = await response.json()
                    outcome = _outcome_of(body)
        except aiohttp.ClientConnectorError:
            outcome = "connection refused"
        except aiohttp.ServerDisconnectedError:
            outcome = "disconnected"
        except TimeoutError:
            outcome = "client timeout"
        except aiohttp.ClientError as exc:
            outcome = type(exc).__name__
        self.calls.append(Call(sent, op, outcome))
        if body is not None and (outcome == "ok" or outcome in accept):
            return body.get("data") or {}
        return None

    async def until_ok(
        self, op: str, query: str, variables: dict[str, Any] | None, token: str,
        deadline: float, accept: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:  # fmt: skip
        """What a decent client does: retry a failed request after a short pause."""
        while True:
            data = await self.call(op, query, variables, token, accept)
            if data is not None:
                return data
            if time.monotonic() > deadline:
                raise DrillError(f"{op} did not succeed before the drill's deadline")
            await asyncio.sleep(0.3)

    def client_saw(self, start: float, end: float) -> str:
        """The failed requests among those sent in [start, end], by outcome."""
        window = [c for c in self.calls if start <= c.at <= end]
        failed = Counter(c.outcome for c in window if c.outcome != "ok")
        if not failed:
            return f"{len(window)} req, 0 errors"
        listed = []
        for name, count in failed.most_common(3):
            ops = Counter(c.op for c in window if c.outcome == name)
            which = ", ".join(f"{op} {n}" for op, n in ops.most_common(3))
            listed.append(f"{name} {count} ({which})")
        return f"{len(window)} req, {sum(failed.values())} failed: {'; '.join(listed)}"

    # ------------------------------------------------------------ the database

    async def sql(self, statement: str, *args: Any) -> list[dict[str, Any]]:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.pg.port, user="postgres", database=self.database,
            timeout=3,
        )  # fmt: skip
        try:
            return [dict(row) for row in await connection.fetch(statement, *args)]
        finally:
            await connection.close()


def _outcome_of(body: dict[str, Any]) -> str:
    errors = body.get("errors")
    if errors:
        return str((errors[0].get("extensions") or {}).get("code") or "GRAPHQL_ERROR")
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict) and value.get("errors"):
            return str(value["errors"][0].get("code") or "USER_ERROR")
    return "ok"


# ---------------------------------------------------------------- students


@dataclass
class Student:
    email: str
    token: str = ""
    assessment_id: str = ""
    questions: list[dict[str, Any]] = field(default_factory=list)


async def enrol(lab: Lab, count: int, deadline: float) -> list[Student]:
    """Register, sign in and start an assessment, `count` students at once."""

    async def one() -> Student:
        student = Student(f"chaos-{uuid.uuid4().hex[:12]}@example.edu")
        account = {"email": student.email, "password": PASSWORD, "name": "Chaos Student"}
        await lab.until_ok("register", REGISTER, {"input": account}, "", deadline,
                           accept=frozenset({"CONFLICT"}))  # fmt: skip
        credentials = {"email": student.email, "password": PASSWORD}
        login = await lab.until_ok("login", LOGIN, {"input": credentials}, "", deadline)
        student.token = login["login"]["accessToken"]
        started = await lab.until_ok(
            "startAssessment", START, {"input": {"track": "general"}}, student.token, deadline
        )
        assessment = started["startAssessment"]["assessment"]
        student.assessment_id = assessment["id"]
        student.questions = assessment["questions"]
        return student

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def answer_all(lab: Lab, student: Student, deadline: float) -> None:
    responses = [{"questionId": q["id"], "answer": valid_answer(q)} for q in student.questions]
    variables = {"input": {"assessmentId": student.assessment_id, "responses": responses}}
    await lab.until_ok("saveResponses", SAVE, variables, student.token, deadline)


async def answer_one_by_one(lab: Lab, student: Student, think: float, deadline: float) -> None:
    for question in student.questions:
        await asyncio.sleep(think)
        answer = {"assessmentId": student.assessment_id, "questionId": question["id"],
                  "answer": valid_answer(question)}  # fmt: skip
        variables = {"input": answer}
        await lab.until_ok("answerQuestion", ANSWER, variables, student.token, deadline)


async def submit(lab: Lab, student: Student, deadline: float) -> None:
    variables = {"input": {"assessmentId": student.assessment_id}}
    await lab.until_ok("submitAssessment", SUBMIT, variables, student.token, deadline)


async def poll_until_final(lab: Lab, student: Student, deadline: float) -> None:
    """The polling fallback a client uses: assessmentStatus until DONE or FAILED."""
    while time.monotonic() < deadline:
        data = await lab.call(
            "assessmentStatus", STATUS, {"id": student.assessment_id}, student.token
        )
        if data is not None and data["assessmentStatus"]["status"] in FINAL:
            return
        await asyncio.sleep(1.0)


# ---------------------------------------------------------------- probes


@dataclass
class Probe:
    at: float
    status: int  # 0: no HTTP answer
    detail: str = ""


@dataclass
class Probes:
    """/readyz and one GraphQL request (login: the database and Redis's rate limiter), each
    every PROBE_INTERVAL, for the whole drill."""

    ready: list[Probe] = field(default_factory=list)
    api: list[Probe] = field(default_factory=list)

    def readiness(self, start: float, end: float, back: float | None) -> str:
        """What /readyz said while a dependency was down (probes sent between the moment it
        had stopped and the moment it was being started again) and how soon after it was
        back (`back`) it said ready. Without `back` there was no outage: it should have said
        ready all along."""
        during = [p for p in self.ready if start <= p.at <= end]
        if back is None:
            bad = Counter(p.status for p in during if p.status != 200)
            if not bad:
                return f"200 throughout ({len(during)} probes)"
            return "not ready at times: " + ", ".join(f"{s} x{n}" for s, n in bad.items())
        answers = Counter(f"{p.status} {p.detail}".strip() for p in during)
        said = ", ".join(f"{a} x{n}" for a, n in answers.most_common(2)) or "no probe"
        lied = sum(1 for p in during if p.status == 200)
        ready = next((p for p in self.ready if p.at >= back and p.status == 200), None)
        again = f"200 {ready.at - back:.1f} s after" if ready else "NEVER ready again"
        verdict = f"LIED: 200 x{lied} while down; " if lied else ""
        return f"{verdict}during: {said}; {again}"

    def first_ok_after(self, end: float) -> float | None:
        failed = any(p.status != 200 for p in self.api if p.at >= end - 30)
        if not failed:
            return None
        back = next((p for p in self.api if p.at >= end and p.status == 200), None)
        return back.at - end if back else float("inf")


@contextlib.asynccontextmanager
async def probing(lab: Lab, email: str) -> AsyncIterator[Probes]:
    probes = Probes()
    stop = asyncio.Event()
    assert lab.http is not None
    http = lab.http

    async def ready() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                async with http.get("/readyz", timeout=aiohttp.ClientTimeout(total=8)) as answer:
                    body = await answer.json()
                    down = [k for k in ("db", "redis") if body.get(k) == "down"]
                    detail = f"({', '.join(down)} down)" if down else ""
                    probes.ready.append(Probe(sent, answer.status, detail))
            except (aiohttp.ClientError, TimeoutError) as exc:
                probes.ready.append(Probe(sent, 0, type(exc).__name__))
            await _pace(sent, stop)

    async def api() -> None:
        credentials = {"input": {"email": email, "password": PASSWORD}}
        while not stop.is_set():
            sent = time.monotonic()
            data = await lab.call("probe:login", LOGIN, credentials)
            probes.api.append(Probe(sent, 200 if data is not None else 0))
            await _pace(sent, stop)

    tasks = [asyncio.create_task(ready()), asyncio.create_task(api())]
    try:
        yield probes
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _pace(sent: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, PROBE_INTERVAL - (time.monotonic() - sent)))


# ---------------------------------------------------------------- the outcome


@dataclass
class Outcome:
    total: int
    done: int = 0
    failed: list[str] = field(default_factory=list)  # "asmt_...: reason"
    lost: list[str] = field(default_factory=list)  # not DONE, not FAILED with a reason
    duplicated: dict[str, str] = field(default_factory=dict)  # id: what is there twice
    degraded: int = 0
    recovered_jobs: int = 0
    last_completed: datetime | None = None
    webhooks_missing: int = 0
    redelivered: int = 0  # the same X-Webhook-Id delivered again (at least once: allowed)
    scorers: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)  # submit -> final, per assessment
    slowest: str = ""

    def lost_cell(self) -> str:
        cell = f"{len(self.lost)}"
        if self.lost:
            cell += f" ({', '.join(self.lost[:3])})"
        if self.failed:
            # Not lost (they ended with a reason), but a transient fault should fail nothing.
            reasons = Counter(f.split(": ", 1)[-1] for f in self.failed)
            cell += f" + {len(self.failed)} FAILED ({'; '.join(reasons)})"
        return cell

    def duplicated_cell(self) -> str:
        if not self.duplicated:
            return "0"
        shown = "; ".join(f"{k}: {v}" for k, v in list(self.duplicated.items())[:2])
        return f"{len(self.duplicated)} ({shown})"


def assessment_key(public_id: str) -> uuid.UUID:
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    if key is None:
        raise DrillError(f"not an assessment id: {public_id}")
    return key


OUTCOME_SQL = """
SELECT a.id, a.status, a.submitted_at, a.completed_at, a.degraded,
  (SELECT count(*) FROM scores s WHERE s.assessment_id = a.id) AS scores,
  (SELECT count(*) FROM recommendations r WHERE r.assessment_id = a.id) AS recommendations,
  (SELECT count(*) FROM (SELECT 1 FROM essay_scores e WHERE e.assessment_id = a.id
     GROUP BY e.assessment_question_id, e.answer_hash HAVING count(*) > 1) d) AS essays_twice,
  (SELECT string_agg(DISTINCT e.scored_by, '+') FROM essay_scores e
     WHERE e.assessment_id = a.id) AS scored_by,
  (SELECT count(*) FROM jobs j WHERE j.assessment_id = a.id AND j.type = 'pipeline')
     AS pipeline_jobs,
  (SELECT coalesce(max(j.recoveries), 0) FROM jobs j
     WHERE j.assessment_id = a.id AND j.type = 'pipeline') AS recoveries,
  (SELECT j.last_error FROM jobs j WHERE j.assessment_id = a.id AND j.type = 'pipeline'
     ORDER BY j.created_at DESC LIMIT 1) AS last_error
FROM assessments a WHERE a.id = ANY($1::uuid[])
"""


async def wait_for_final(lab: Lab, students: list[Student], deadline: float) -> None:
    """Until every assessment is DONE or FAILED in the database (read directly: the drill
    must see the truth even while the API is the thing being tested)."""
    keys = [assessment_key(s.assessment_id) for s in students]
    while time.monotonic() < deadline:
        try:
            rows = await lab.sql(
                "SELECT count(*) AS n FROM assessments WHERE id = ANY($1::uuid[]) "
                "AND status IN ('done', 'failed')",
                keys,
            )
            if rows[0]["n"] == len(keys):
                return
        except Exception:  # noqa: S110  (PostgreSQL may be the thing that is down)
            pass
        await asyncio.sleep(0.25)


async def outcome(lab: Lab, students: list[Student], webhook_wait: float = 8.0) -> Outcome:
    keys = [assessment_key(s.assessment_id) for s in students]
    rows = await lab.sql(OUTCOME_SQL, keys)
    result = Outcome(total=len(students))
    done_ids = []
    for row in rows:
        public = ids.encode(ids.Kind.ASSESSMENT, row["id"])
        status = row["status"]
        twice = []
        if row["scores"] > 1:
            twice.append(f"{row['scores']} scores")
        if row["recommendations"] > 1:
            twice.append(f"{row['recommendations']} recommendations")
        if row["essays_twice"]:
            twice.append(f"{row['essays_twice']} essays scored twice")
        if row["pipeline_jobs"] > 1:
            twice.append(f"{row['pipeline_jobs']} pipeline jobs")
        if twice:
            result.duplicated[public] = ", ".join(twice)
        result.recovered_jobs += 1 if row["recoveries"] else 0
        if status == "done":
            result.done += 1
            done_ids.append(public)
            result.degraded += 1 if row["degraded"] else 0
            result.scorers[row["scored_by"] or "none"] += 1
            if row["scores"] != 1 or row["recommendations"] != 1:
                result.lost.append(f"{public} DONE without its result")
            if result.last_completed is None or row["completed_at"] > result.last_completed:
                result.last_completed = row["completed_at"]
            if row["submitted_at"] is not None:
                result.seconds.append((row["completed_at"] - row["submitted_at"]).total_seconds())
        elif status == "failed" and row["last_error"]:
            result.failed.append(f"{public}: {row['last_error'][:80]}")
        else:
            result.lost.append(f"{public} {status}")
    if result.seconds and max(result.seconds) > 20:
        result.slowest = await _slowest(lab, rows)
    # Webhooks: exactly one assessment.completed event (distinct X-Webhook-Id) per DONE.
    waited = time.monotonic() + webhook_wait
    while time.monotonic() < waited and any(
        not _events(lab.hook, a, "assessment.completed") for a in done_ids
    ):
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # a duplicate would come soon after
    for public in done_ids:
        events = _events(lab.hook, public, "assessment.completed")
        if not events:
            result.webhooks_missing += 1
        elif len(events) > 1:
            previous = result.duplicated.get(public)
            extra = f"{len(events)} completed webhooks"
            result.duplicated[public] = f"{previous}, {extra}" if previous else extra
        result.redelivered += sum(n - 1 for n in events.values())
    return result


async def _slowest(lab: Lab, rows: list[dict[str, Any]]) -> str:
    """Where the slowest assessment spent its time, stage by stage."""
    final = [r for r in rows if r["completed_at"] and r["submitted_at"]]
    row = max(final, key=lambda r: r["completed_at"] - r["submitted_at"])
    stages = await lab.sql(
        "SELECT stage, attempts, started_at, finished_at, last_error FROM assessment_stages "
        "WHERE assessment_id = $1 ORDER BY started_at",
        row["id"],
    )
    parts = []
    for stage in stages:
        if stage["started_at"] and stage["finished_at"]:
            took = (stage["finished_at"] - stage["started_at"]).total_seconds()
            parts.append(f"{stage['stage']} {took:.1f} s x{stage['attempts']}")
    public = ids.encode(ids.Kind.ASSESSMENT, row["id"])
    total = (row["completed_at"] - row["submitted_at"]).total_seconds()
    return f"slowest {public}: {total:.1f} s ({', '.join(parts)})"


def _events(hook: Receiver, assessment_id: str, event: str) -> Counter[str]:
    """Deliveries about one assessment and event, by X-Webhook-Id."""
    return Counter(
        r.headers.get("x-webhook-id", "")
        for r in hook.about(assessment_id)
        if r.headers.get("x-webhook-event") == event
    )


def seconds_since(wall_start: float, when: datetime | None) -> str:
    if when is None:
        return "-"
    return f"{when.astimezone(UTC).timestamp() - wall_start:.1f} s"
