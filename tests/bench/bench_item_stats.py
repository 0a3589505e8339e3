"""Issue 13: item statistics stay fast however many responses there are. Loads 100,000 scored
responses into PostgreSQL (assessments, their question snapshots, responses and results, written
directly, and each result counted by the same `item_stats.record` the pipeline calls), then
prints p50/p95 of `questionStats` through uvicorn beside a bare `{ __typename }` (target: p95
< 50 ms). Figures are printed, never asserted.

    make bench-item-stats              # 100,000 responses
    make bench-item-stats RESPONSES=20000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from db.database import Database, create_engine
from db.repositories import item_stats as item_stats_repo
from db.tables import (
    Assessment,
    AssessmentQuestion,
    ItemStats,
    Question,
    Response,
    Score,
    User,
)
from db.types import utcnow
from domain import ids
from domain.ids import new_uuid
from domain.item_stats import ScoredItem, contributions
from tests.bench.harness import Samples, client, gql, header, ok, server_env, server_process
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.stacks import StackConfig, provision

RESPONSES = 100_000
THEORY, ESSAYS = 3, 3  # the default form's scored items
BATCH = 500  # assessments per transaction while loading
PROBES = 300
SINGLE = """query S($id: ID) { questionStats(questionId: $id) { edges { node {
  responses facility discrimination optionPickRates { key count rate } flags } } } }"""
BANK = """{ questions(first: 50) { totalCount edges { node { id domain options { key } } } } }"""
PAGE = """query P($filter: QuestionStatsFilter) { questionStats(filter: $filter, first: 50) {
  totalCount edges { node { question { id domain } responses facility discrimination
  optionPickRates { key count rate correct } flags } } } }"""


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


async def _load(database: Database, responses: int, seed: int = 13) -> dict[str, Any]:
    """Students of varied ability answer the seeded bank; returns load figures."""
    rng = random.Random(seed)
    async with database.read() as session:
        bank = list(
            await session.scalars(
                sa.select(Question).where(
                    col(Question.active), col(Question.type).in_(("theory", "essay"))
                )
            )
        )
    theory = [q for q in bank if q.type == "theory"]
    essays = [q for q in bank if q.type == "essay"]
    # Each item gets a difficulty; a few are miskeyed (good students miss them), so that
    # NEGATIVE_DISCRIMINATION shows up among the flags as it would in a real bank.
    difficulty = {q.id: rng.gauss(0, 1.2) for q in bank}
    miskeyed = {q.id for q in rng.sample(theory, max(1, len(theory) // 25))}
    per_assessment = THEORY + ESSAYS
    count = math.ceil(responses / per_assessment)
    now = utcnow()
    user_id = new_uuid()
    async with database.transaction() as uow:
        uow.session.add(User(id=user_id, email=f"bench-{user_id.hex}@example.edu",
                             password_hash="x", role="student"))  # fmt: skip
    record_seconds = 0.0
    loaded = 0
    for start in range(0, count, BATCH):
        assessments, snapshots, answers, scores = [], [], [], []
        scored: list[tuple[uuid.UUID, list[ScoredItem]]] = []
        for _ in range(min(BATCH, count - start)):
            assessment_id = new_uuid()
            ability = rng.gauss(0, 1)
            assessments.append({
                "id": assessment_id, "user_id": user_id, "track": "general", "status": "done",
                "composition_json": {"theoretical": THEORY, "essay": ESSAYS, "profile": 0},
                "created_at": now, "expires_at": now + timedelta(days=7),
                "submitted_at": now, "completed_at": now, "degraded": False,
            })  # fmt: skip
            items: list[ScoredItem] = []
            picked = rng.sample(theory, THEORY) + rng.sample(essays, ESSAYS)
            for order, question in enumerate(picked):
                aq_id = new_uuid()
                snapshots.append({
                    "id": aq_id, "assessment_id": assessment_id, "question_id": question.id,
                    "type": question.type, "order_no": order, "domain": question.domain,
                    "prompt_snapshot": question.prompt, "options_snapshot": question.options_json,
                    "answer_key_json": {},
                })  # fmt: skip
                p = _sigmoid(ability - difficulty[question.id])
                if question.id in miskeyed:
                    p = _sigmoid(difficulty[question.id] - ability)
                if question.type == "theory":
                    keys, correct = item_stats_repo.option_keys(question)
                    right = rng.random() < p
                    wrong = [k for k in keys if k != correct]
                    # The last distractor is implausible: hardly anyone picks it.
                    weights = [1.0] * (len(wrong) - 1) + [0.02] if wrong else []
                    option = correct if right else rng.choices(wrong, weights)[0]
                    answers.append({"id": new_uuid(), "assessment_id": assessment_id,
                                    "assessment_question_id": aq_id, "answer_option": option,
                                    "is_correct": right, "submitted_at": now})  # fmt: skip
                    items.append(ScoredItem(str(question.id), "theory", float(right), True,
                                            option))  # fmt: skip
                else:
                    score = min(1.0, max(0.0, rng.gauss(p, 0.15)))
                    answers.append({"id": new_uuid(), "assessment_id": assessment_id,
                                    "assessment_question_id": aq_id,
                                    "answer_text": "An answer.", "submitted_at": now})  # fmt: skip
                    items.append(ScoredItem(str(question.id), "essay", round(score, 4), True))
            scores.append({"id": new_uuid(), "assessment_id": assessment_id,
                           "theory_score_json": {}, "profile_signals_json": {},
                           "essay_scores_json": {}, "profile_json": {},
                           "computed_at": now})  # fmt: skip
            scored.append((assessment_id, items))
        async with database.transaction() as uow:
            session = uow.session
            await session.execute(sa.insert(Assessment), assessments)
            await session.execute(sa.insert(AssessmentQuestion), snapshots)
            await session.execute(sa.insert(Response), answers)
            await session.execute(sa.insert(Score), scores)
            started = time.perf_counter()
            # What the pipeline does per assessment, for a batch at once (same code path).
            await item_stats_repo.record_many(
                session, {key: contributions(items) for key, items in scored}
            )
            record_seconds += time.perf_counter() - started
        loaded += len(answers)
        print(f"  loaded {loaded:>7} responses", end="\r", flush=True)
    print()
    return {"responses": loaded, "assessments": count, "record_seconds": record_seconds}


async def _summary(database: Database) -> dict[str, Any]:
    async with database.read() as session:
        responses = await session.scalar(sa.select(sa.func.count()).select_from(Response))
        rows = list(await session.scalars(sa.select(ItemStats)))
    flags: dict[str, int] = {}
    for row in rows:
        for flag in row.flags_json:
            flags[flag] = flags.get(flag, 0) + 1
    return {
        "responses_rows": int(responses or 0),
        "items": len(rows),
        "counted": sum(row.n for row in rows),
        "flags": flags,
        "busiest": max(rows, key=lambda row: row.n) if rows else None,
    }


async def _probe(samples: Samples, call: Any) -> None:
    for _ in range(PROBES):
        started = time.perf_counter()
        body = await call()
        if ok(body):
            samples.add(time.perf_counter() - started)
        else:
            samples.errors += 1
    samples.stop()


async def run(stack: StackConfig, responses: int = RESPONSES) -> None:
    header(f"item statistics: questionStats with {responses:,} responses (PostgreSQL)")
    database = Database(create_engine(stack.database_url))
    try:
        loaded = await _load(database, responses)
        summary = await _summary(database)
    finally:
        await database.dispose()
    per = loaded["record_seconds"] / loaded["assessments"] * 1000
    print(f"responses stored: {summary['responses_rows']:,}; counted in item statistics: "
          f"{summary['counted']:,} over {summary['items']} items")  # fmt: skip
    print(f"record_many() per scored assessment, in batches of {BATCH}: {per:.3f} ms")
    print(f"flags raised: {summary['flags'] or 'none'}")
    busiest = summary["busiest"]
    assert busiest is not None
    question = ids.encode(ids.Kind.QUESTION, busiest.question_id)
    async with server_process(server_env(stack)) as base, client(base, 4) as http:
        email = f"bench-admin-{time.time_ns()}@example.edu"
        account = {"email": email, "password": PASSWORD, "inviteCode": "bench-admin-invite"}
        body = await gql(http, REGISTER, {"input": account})
        assert ok(body), body
        login = await gql(http, LOGIN, {"input": {"email": email, "password": PASSWORD}})
        token = login["data"]["login"]["accessToken"]
        for _ in range(20):  # warm up: connections, caches of parsed documents
            await gql(http, PAGE, {}, token)
            await gql(http, SINGLE, {"id": question}, token)
        bare = Samples("__typename")
        await _probe(bare, lambda: gql(http, "{ __typename }"))
        # An existing admin read of the same bank, for scale on a busy machine.
        bank = Samples("questions(first: 50)")
        await _probe(bank, lambda: gql(http, BANK, {}, token))
        single = Samples(f"one item ({busiest.n} resp.)")
        await _probe(single, lambda: gql(http, SINGLE, {"id": question}, token))
        page = Samples("a page of 50 items")
        await _probe(page, lambda: gql(http, PAGE, {}, token))
        flagged = Samples("filter flag, first 50")
        await _probe(flagged, lambda: gql(http, PAGE, {"filter": {"flag": "TOO_EASY"}}, token))
    for samples in (bare, bank, single, page, flagged):
        print(samples.row())
    print("target: questionStats p95 < 50 ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--responses", type=int, default=RESPONSES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with provision("postgres", Path(tmp)) as stack:
            await run(stack, args.responses)


if __name__ == "__main__":
    asyncio.run(main())
