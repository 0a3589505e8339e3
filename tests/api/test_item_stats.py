"""Item statistics for admins (questionStats): counted once when an assessment is scored,
replaced (never added again) when its result is rebuilt, filtered by flag, refused to others."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from db.repositories import item_stats as item_stats_repo
from db.tables import ItemStats, Score
from domain import ids, item_stats
from domain.item_stats import ItemFlag
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, uuid_param
from tests.support.flows import CREATE_QUESTION, SUBMIT, answer_all, start, track
from tests.support.pipeline import wait_for_status
from tests.support.stacks import Server

STATS = """query S($id: ID, $filter: QuestionStatsFilter, $first: Int) {
  questionStats(questionId: $id, filter: $filter, first: $first) {
    totalCount
    edges { node { question { id type } responses facility discrimination
                   optionPickRates { key count rate correct } meanSecondsToAnswer flags
                   updatedAt } }
  }
}"""
ESSAYS = """query R($id: ID!) { result(assessmentId: $id) {
  scores { essays { essayScoreId score } } } }"""
OVERRIDE = """mutation O($input: OverrideEssayScoreInput!) { overrideEssayScore(input: $input) {
  override { id } errors { field code message } } }"""


async def _stats(client: GraphQLClient, token: str, question: str) -> dict[str, Any]:
    body = await client.data(STATS, {"id": question}, token)
    [edge] = body["questionStats"]["edges"]
    return edge["node"]  # type: ignore[no-any-return]


async def _bank_questions(server: Server, assessment_id: str) -> dict[str, dict[str, Any]]:
    """The assessment's scored items by bank question id, with the option the test picked."""
    found = await rows(
        server,
        "SELECT aq.question_id, aq.type, r.answer_option FROM assessment_questions aq "
        "LEFT JOIN responses r ON r.assessment_question_id = aq.id "
        "WHERE aq.assessment_id = :a AND aq.type IN ('theory', 'essay')",
        a=uuid_param(server, assessment_id),
    )
    return {ids.encode(ids.Kind.QUESTION, uuid.UUID(str(row["question_id"]))): row for row in found}


async def test_a_scored_assessment_counts_once_and_a_rescore_replaces_it(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    bank = await _bank_questions(server, assessment["id"])
    before = {q: await _stats(client, admin.token, q) for q in bank}
    await answer_all(client, student.token, assessment)
    body = await client.data(SUBMIT, {"input": {"assessmentId": assessment["id"]}}, student.token)
    assert body["submitAssessment"]["errors"] == []
    await wait_for_status(client, student.token, assessment["id"], {"DONE"}, timeout=180)

    bank = await _bank_questions(server, assessment["id"])  # now with the options picked
    after = {q: await _stats(client, admin.token, q) for q in bank}
    for question, item in bank.items():
        now, then = after[question], before[question]
        assert now["responses"] == then["responses"] + 1, question
        assert now["facility"] is not None
        assert now["meanSecondsToAnswer"] is None  # answers carry no presentation time
        assert now["updatedAt"]
        if item["type"] == "theory":
            picks = {o["key"]: o["count"] for o in now["optionPickRates"]}
            earlier = {o["key"]: o["count"] for o in then["optionPickRates"]}
            assert picks[item["answer_option"]] == earlier.get(item["answer_option"], 0) + 1
            assert sum(picks.values()) == now["responses"]
        else:
            assert now["optionPickRates"] == []

    # The pipeline's finish running again (a retried job) changes nothing.
    key = ids.decode(ids.Kind.ASSESSMENT, assessment["id"])
    assert key is not None
    async with server.services.db.transaction() as uow:
        stored = (
            await uow.session.scalars(sa.select(Score).where(col(Score.assessment_id) == key))
        ).one()
        again = item_stats.decode(stored.item_contributions_json)
        assert len(again) == len(bank)
        await item_stats_repo.record(uow.session, key, again)
    assert {q: await _stats(client, admin.token, q) for q in bank} == after

    # A human override rebuilds the result: the essay's score moves, its count does not.
    result = (await client.data(ESSAYS, {"id": assessment["id"]}, admin.token))["result"]
    essay = next(e for e in result["scores"]["essays"] if e["essayScoreId"])
    body = await client.data(
        OVERRIDE,
        {"input": {"essayScoreId": essay["essayScoreId"], "score": 0.0, "reason": "test"}},
        admin.token,
    )
    assert body["overrideEssayScore"]["errors"] == [], body
    contributions = _essay_contributions(server, key)
    for _ in range(600):
        if any(c.x == 0.0 for c in await contributions()):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the override never reached the item statistics")
    rebuilt = {q: await _stats(client, admin.token, q) for q in bank}
    assert {q: s["responses"] for q, s in rebuilt.items()} == {
        q: s["responses"] for q, s in after.items()
    }


def _essay_contributions(server: Server, key: uuid.UUID) -> Any:
    async def read() -> tuple[item_stats.Contribution, ...]:
        async with server.services.db.read() as session:
            stored = (
                await session.scalars(sa.select(Score).where(col(Score.assessment_id) == key))
            ).one()
            return tuple(
                c for c in item_stats.decode(stored.item_contributions_json) if c.option is None
            )

    return read


async def test_admins_filter_by_flag_and_bad_input_is_refused(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    own = track()
    created = await client.data(
        CREATE_QUESTION,
        {"input": {"type": "THEORETICAL", "prompt": f"Which port does HTTPS use? {own}",
                   "domain": "networking", "tracks": [own], "options": ["80", "443", "8080"],
                   "correct": "B"}},
        admin.token,
    )  # fmt: skip
    question = created["createQuestion"]["question"]["id"]
    fresh = await _stats(client, admin.token, question)
    assert fresh["responses"] == 0
    assert fresh["facility"] is None
    assert fresh["discrimination"] is None
    assert [(o["key"], o["count"], o["correct"]) for o in fresh["optionPickRates"]] == [
        ("A", 0, False), ("B", 0, True), ("C", 0, False)]  # fmt: skip

    # Thirty right answers, A picked never and C never: what thirty scored assessments leave.
    sums = item_stats.Sums()
    for n in range(30):
        sums.add(item_stats.Contribution("q", 1.0, 0.3 + 0.02 * n, "B"))
    flags = item_stats.statistics(sums, "theory", ["A", "B", "C"], "B").flags
    assert flags == (ItemFlag.TOO_EASY, ItemFlag.DISTRACTOR_NEVER_CHOSEN)
    key = ids.decode(ids.Kind.QUESTION, question)
    assert key is not None
    async with server.services.db.transaction() as uow:
        uow.session.add(
            ItemStats(
                question_id=key, n=sums.n, sum_x=sums.sum_x, sum_x2=sums.sum_x2,
                sum_rest=sums.sum_rest, sum_rest2=sums.sum_rest2, sum_x_rest=sums.sum_x_rest,
                option_counts_json=sums.options, flags_json=[f.value for f in flags],
            )
        )  # fmt: skip
    shown = await _stats(client, admin.token, question)
    assert (shown["responses"], shown["facility"], shown["discrimination"]) == (30, 1.0, None)
    assert shown["flags"] == ["TOO_EASY", "DISTRACTOR_NEVER_CHOSEN"]
    assert [(o["key"], o["rate"]) for o in shown["optionPickRates"]] == [
        ("A", 0.0), ("B", 1.0), ("C", 0.0)]  # fmt: skip

    found = await client.data(
        STATS, {"filter": {"flag": "DISTRACTOR_NEVER_CHOSEN", "domain": "networking"},
                "first": 100}, admin.token,
    )  # fmt: skip
    listed = [e["node"]["question"]["id"] for e in found["questionStats"]["edges"]]
    assert question in listed
    assert all("DISTRACTOR_NEVER_CHOSEN" in e["node"]["flags"]
               for e in found["questionStats"]["edges"])  # fmt: skip
    hard = await client.data(STATS, {"filter": {"flag": "TOO_HARD"}, "first": 100}, admin.token)
    assert question not in [e["node"]["question"]["id"] for e in hard["questionStats"]["edges"]]

    for variables, code in (
        ({"id": "q_nonsense"}, "NOT_FOUND"),
        ({"id": ids.encode(ids.Kind.QUESTION, uuid.uuid4())}, "NOT_FOUND"),
        ({"filter": {"type": "PROFILE"}}, "VALIDATION_ERROR"),
        ({"filter": {"domain": "networking\x00"}}, "VALIDATION_ERROR"),
        ({"first": 1000}, "VALIDATION_ERROR"),
    ):
        body = await client.gql(STATS, variables, admin.token)
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == code, (variables, body)
