"""Two opinions and a human (issue 12, point 4): flags and needsReview on every essay score,
the review queue (who sees what), the human override (what changes, what stays, who is told)
and the refusals that change nothing. Through the real app with the LLM on the fake
OpenAI-compatible server; on PostgreSQL the re-scoring job runs in a real arq worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain import ids
from jobs import events
from tests.support.client import Account, register_and_login
from tests.support.db import rows, scalar, uuid_param
from tests.support.flows import NON_ANSWER, genuine_essay
from tests.support.llm_stack import LlmStack, llm_stack
from tests.support.receiver import Receiver, receiver
from tests.support.stacks import selected_stacks
from tests.support.ws import connect

ESSAY_FIELDS = """questionId score scoredBy essayScoreId flags needsReview machineScore
  localScore override { id score reason reviewerId createdAt }"""
REVIEW_RESULT = f"""query R($id: ID!) {{ result(assessmentId: $id) {{
  scores {{ essays {{ {ESSAY_FIELDS} }} }}
  profile {{ overallScore band confidence {{ level reasons }}
             domains {{ domain score confidence }} }}
  recommendations {{ summary generatedAt items {{ id rank credential {{ slug }} }} }}
}} }}"""
QUEUE = """query Q($first: Int, $after: String) { reviewQueue(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { essayScoreId score scoredBy degraded localScore flags questionId domain
    questionPrompt answerText scoredAt student { id email } assessment { id status }
    rubric { name score } } }
} }"""
OVERRIDE = """mutation O($input: OverrideEssayScoreInput!) { overrideEssayScore(input: $input) {
  override { id score reason reviewerId createdAt }
  assessment { id } job { id type }
  errors { field code message }
} }"""
ASSIGN = """mutation A($s: ID!, $a: ID!) { assignAdvisor(studentId: $s, advisorId: $a) { ok } }"""
WEBHOOK = """mutation W($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  endpoint { id } secret errors { code } } }"""
DELETE_WEBHOOK = "mutation D($id: ID!) { deleteWebhookEndpoint(id: $id) { ok } }"
PROGRESS = "subscription S($id: ID!) { assessmentProgress(assessmentId: $id) { status } }"


@pytest.fixture(scope="module", params=selected_stacks())
async def llm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LlmStack]:
    async with llm_stack(request.param, tmp_path_factory.mktemp(f"rv-{request.param}")) as stack:
        yield stack


@pytest.fixture(autouse=True)
def _fresh_fake(llm: LlmStack) -> None:
    llm.reset()


def _key(public_id: str) -> Any:
    kind = ids.kind_of(public_id)
    assert kind is not None
    return ids.decode(kind, public_id)


async def _result(llm: LlmStack, token: str, assessment_id: str) -> dict[str, Any]:
    body = await llm.client.data(REVIEW_RESULT, {"id": assessment_id}, token)
    return body["result"]  # type: ignore[no-any-return]


async def _done(llm: LlmStack) -> tuple[Account, dict[str, Any], dict[str, Any]]:
    student, assessment = await llm.submit()
    await llm.result(student, assessment)  # waits for DONE
    return student, assessment, await _result(llm, student.token, assessment["id"])


async def _mark_for_review(llm: LlmStack, essay_score_id: str) -> None:
    """Stands in for a scorer that raised a flag: the queue's rules are what is tested here,
    the scorers' own rules in tests/unit and the disagreement test below."""
    true = 1 if llm.server.settings.is_sqlite else True
    async with llm.server.services.db.engine.begin() as connection:
        import sqlalchemy as sa

        await connection.execute(
            sa.text("UPDATE essay_scores SET needs_review = :t WHERE id = :id"),
            {"t": true, "id": uuid_param(llm.server, essay_score_id)},
        )


async def _queue(llm: LlmStack, token: str, **variables: Any) -> dict[str, Any]:
    return (await llm.client.data(QUEUE, variables, token))["reviewQueue"]  # type: ignore[no-any-return]


def _queued_ids(queue: dict[str, Any]) -> list[str]:
    return [edge["node"]["essayScoreId"] for edge in queue["edges"]]


async def _counts(llm: LlmStack, assessment_id: str) -> dict[str, Any]:
    """Everything an override writes, to prove a refused one wrote nothing."""
    key = uuid_param(llm.server, assessment_id)
    return {
        "overrides": await scalar(llm.server, "SELECT count(*) FROM essay_score_overrides"),
        "scores": await rows(llm.server, "SELECT id, score, needs_review FROM essay_scores "
                             "WHERE assessment_id = :a ORDER BY id", a=key),
        "jobs": await scalar(llm.server, "SELECT count(*) FROM jobs WHERE assessment_id = :a",
                             a=key),
        "audit": await scalar(llm.server, "SELECT count(*) FROM audit_events "
                              "WHERE action = 'essay.override'"),
    }  # fmt: skip


async def test_every_essay_score_says_its_flags_and_whether_it_needs_review(
    llm: LlmStack,
) -> None:
    _, assessment, result = await _done(llm)
    essays = result["scores"]["essays"]
    assert len(essays) == 3
    stored = await rows(
        llm.server, "SELECT id, score, flags, local_score, needs_review FROM essay_scores "
        "WHERE assessment_id = :a", a=uuid_param(llm.server, assessment["id"]),
    )  # fmt: skip
    by_id = {str(uuid_param(llm.server, e["essayScoreId"])): e for e in essays}
    assert set(by_id) == {str(r["id"]) for r in stored}
    for row in stored:
        essay = by_id[str(row["id"])]
        flags = row["flags"] if isinstance(row["flags"], list) else json.loads(row["flags"])
        assert essay["flags"] == flags
        assert essay["needsReview"] is bool(row["needs_review"])
        assert essay["machineScore"] == pytest.approx(float(row["score"]))
        assert essay["score"] == essay["machineScore"]
        assert essay["override"] is None
        # The rule, whoever scored: flagged, or the two opinions more than 0.35 apart.
        if essay["localScore"] is not None:
            apart = abs(essay["score"] - essay["localScore"]) > 0.35
            assert essay["needsReview"] is (bool(flags) or apart)


async def test_two_scorers_that_disagree_send_the_essay_to_review(llm: LlmStack) -> None:
    admin = await register_and_login(llm.client, role="ADMIN")
    llm.fake.grade = 0.0  # the LLM finds nothing in answers the local scorer finds fine
    _, _, result = await _done(llm)
    essays = result["scores"]["essays"]
    assert all(e["localScore"] is not None for e in essays), essays
    apart = [e for e in essays if abs(e["score"] - e["localScore"]) > 0.35]
    assert apart, essays
    assert all(e["needsReview"] for e in apart)
    reasons = result["profile"]["confidence"]["reasons"]
    assert any("awaiting human review" in r for r in reasons), reasons
    queued = _queued_ids(await _queue(llm, admin.token, first=100))
    assert {e["essayScoreId"] for e in apart} <= set(queued)


async def test_the_queue_shows_advisors_their_students_only(llm: LlmStack) -> None:
    admin = await register_and_login(llm.client, role="ADMIN")
    advisor = await register_and_login(llm.client, role="ADVISOR")
    other_advisor = await register_and_login(llm.client, role="ADVISOR")
    mine, mine_assessment, mine_result = await _done(llm)
    theirs, _, theirs_result = await _done(llm)
    await llm.client.data(ASSIGN, {"s": mine.id, "a": advisor.id}, admin.token)
    mine_ids = [e["essayScoreId"] for e in mine_result["scores"]["essays"]]
    theirs_ids = [e["essayScoreId"] for e in theirs_result["scores"]["essays"]]
    for essay_score_id in mine_ids[:2] + theirs_ids[:1]:
        await _mark_for_review(llm, essay_score_id)

    seen = await _queue(llm, advisor.token, first=100)
    assert set(_queued_ids(seen)) >= set(mine_ids[:2])
    assert not set(_queued_ids(seen)) & set(theirs_ids + mine_ids[2:])
    node = next(e["node"] for e in seen["edges"] if e["node"]["essayScoreId"] == mine_ids[0])
    essay = mine_result["scores"]["essays"][0]
    assert node["student"] == {"id": mine.id, "email": mine.email}
    assert node["assessment"] == {"id": mine_assessment["id"], "status": "DONE"}
    assert node["score"] == essay["machineScore"]
    assert node["scoredBy"] == "LLM"
    assert node["localScore"] == essay["localScore"]
    assert node["flags"] == essay["flags"]
    assert node["questionId"] == essay["questionId"]
    assert node["answerText"] == genuine_essay(node["questionPrompt"])
    assert node["questionPrompt"]
    assert node["rubric"]
    # Advisor reads of a student's data are audited, as everywhere else.
    assert await scalar(llm.server, "SELECT count(*) FROM audit_events WHERE action = "
                        "'advisor.read' AND resource = :r AND actor = :a",
                        r=mine_ids[0], a=advisor.id) == 1  # fmt: skip

    assert not set(_queued_ids(await _queue(llm, other_advisor.token, first=100))) & set(
        mine_ids + theirs_ids
    )
    everything = await _queue(llm, admin.token, first=100)
    assert set(_queued_ids(everything)) >= set(mine_ids[:2] + theirs_ids[:1])
    # Oldest first, page by page.
    times = [e["node"]["scoredAt"] for e in everything["edges"]]
    assert times == sorted(times)
    first = await _queue(llm, admin.token, first=1)
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == everything["totalCount"]
    second = await _queue(llm, admin.token, first=1, after=first["pageInfo"]["endCursor"])
    assert _queued_ids(first) + _queued_ids(second) == _queued_ids(everything)[:2]

    for caller in (mine, theirs):
        denied = await llm.client.gql(QUEUE, {}, caller.token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert denied["data"] is None
    anonymous = await llm.client.gql(QUEUE, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture
async def rescored_hook(llm: LlmStack) -> AsyncIterator[Receiver]:
    admin = await register_and_login(llm.client, role="ADMIN")
    async with receiver() as target:
        body = await llm.client.data(
            WEBHOOK, {"input": {"url": target.url, "events": ["ASSESSMENT_RESCORED"]}},
            admin.token,
        )  # fmt: skip
        assert body["createWebhookEndpoint"]["errors"] == []
        try:
            yield target
        finally:
            await llm.client.data(
                DELETE_WEBHOOK, {"id": body["createWebhookEndpoint"]["endpoint"]["id"]},
                admin.token,
            )  # fmt: skip


async def _wait_for_override(llm: LlmStack, token: str, assessment_id: str) -> dict[str, Any]:
    for _ in range(600):
        result = await _result(llm, token, assessment_id)
        if any(e["override"] for e in result["scores"]["essays"]):
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("the override never reached the result")


async def test_an_advisor_overrides_a_score_and_everything_downstream_follows(
    llm: LlmStack, rescored_hook: Receiver
) -> None:
    admin = await register_and_login(llm.client, role="ADMIN")
    advisor = await register_and_login(llm.client, role="ADVISOR")
    student, assessment, before = await _done(llm)
    await llm.client.data(ASSIGN, {"s": student.id, "a": advisor.id}, admin.token)
    essay = before["scores"]["essays"][0]
    await _mark_for_review(llm, essay["essayScoreId"])
    assert essay["essayScoreId"] in _queued_ids(await _queue(llm, advisor.token, first=100))
    fusion_calls = len(llm.fake.fusion_requests())

    # A DONE assessment's progress subscription completes at once, so what subscribers are
    # told is proved on the channel they listen to (Redis on PostgreSQL: the worker publishes).
    services = llm.server.services
    async with services.hub.subscribe(events.channel(services, _key(assessment["id"]))) as heard:
        body = await llm.client.data(OVERRIDE, {"input": {
            "essayScoreId": essay["essayScoreId"], "score": 0.05,
            "reason": "  Restates the question; no claim of its own.  ",
            "rubric": [{"name": "accuracy", "score": 0.0}, {"name": "clarity", "score": 0.2}],
        }}, advisor.token)  # fmt: skip
        payload = body["overrideEssayScore"]
        assert payload["errors"] == []
        assert payload["override"]["score"] == 0.05
        assert payload["override"]["reason"] == "Restates the question; no claim of its own."
        assert payload["override"]["reviewerId"] == advisor.id
        assert payload["assessment"] == {"id": assessment["id"]}
        assert payload["job"]["type"] == "rescore"
        after = await _wait_for_override(llm, student.token, assessment["id"])
        message = await asyncio.wait_for(heard.get(), 30)
        assert message["assessmentId"] == assessment["id"]
        assert message["status"] == "done"
    async with connect(llm.server.ws_url, student.token) as subscription:
        [snapshot] = await subscription.events(PROGRESS, {"id": assessment["id"]}, limit=1)
        assert snapshot["data"]["assessmentProgress"]["status"] == "DONE"

    changed = after["scores"]["essays"][0]
    assert changed["score"] == 0.05
    assert changed["machineScore"] == essay["machineScore"]
    assert changed["needsReview"] is False
    assert changed["override"]["id"] == payload["override"]["id"]
    assert after["scores"]["essays"][1:] == before["scores"]["essays"][1:]
    # The profile is rebuilt from the human score; the recommendations are chosen again by the
    # pipeline's RAG and FUSION stages.
    assert after["profile"]["overallScore"] < before["profile"]["overallScore"]
    assert len(llm.fake.fusion_requests()) == fusion_calls + 1
    assert after["recommendations"]["generatedAt"] > before["recommendations"]["generatedAt"]
    # Reviewed: out of the queue.
    assert essay["essayScoreId"] not in _queued_ids(await _queue(llm, admin.token, first=100))

    key = uuid_param(llm.server, assessment["id"])
    question = uuid_param(llm.server, essay["questionId"])
    history = await rows(
        llm.server,
        "SELECT id, score FROM essay_scores WHERE assessment_question_id = :q",
        q=question,
    )
    assert [float(h["score"]) for h in history] == [essay["machineScore"]]  # machine score kept
    [override] = await rows(llm.server, "SELECT reviewer_id, score, reason, rubric_json FROM "
                            "essay_score_overrides WHERE assessment_id = :a", a=key)  # fmt: skip
    assert str(override["reviewer_id"]).replace("-", "") == str(
        uuid_param(llm.server, advisor.id)
    ).replace("-", "")
    assert float(override["score"]) == 0.05
    [event] = await rows(llm.server, "SELECT actor, resource, subject_id, meta_json, request_id "
                         "FROM audit_events WHERE action = 'essay.override' AND resource = :r",
                         r=essay["essayScoreId"])  # fmt: skip
    assert event["actor"] == advisor.id
    assert event["request_id"]
    meta = (
        event["meta_json"]
        if isinstance(event["meta_json"], dict)
        else json.loads(event["meta_json"])
    )
    assert meta["machineScore"] == essay["machineScore"]
    assert meta["score"] == 0.05
    job_status = await scalar(llm.server, "SELECT status FROM jobs WHERE type = 'rescore' AND "
                              "assessment_id = :a", a=key)  # fmt: skip
    assert job_status == "done"

    [delivery] = await rescored_hook.wait_for(assessment["id"], 1)
    assert delivery.headers["x-webhook-event"] == "assessment.rescored"
    sent = json.loads(delivery.body)
    assert sent["type"] == "assessment.rescored"
    assert sent["data"]["overallScore"] == after["profile"]["overallScore"]

    # An admin may override again: the newest human score wins, the first stays recorded.
    again = await llm.client.data(OVERRIDE, {"input": {
        "essayScoreId": essay["essayScoreId"], "score": 0.3, "reason": "Second look."}},
        admin.token)  # fmt: skip
    assert again["overrideEssayScore"]["errors"] == []
    for _ in range(600):
        latest = await _result(llm, student.token, assessment["id"])
        if latest["scores"]["essays"][0]["score"] == 0.3:
            break
        await asyncio.sleep(0.1)
    assert latest["scores"]["essays"][0]["override"]["reviewerId"] == admin.id
    assert await scalar(llm.server, "SELECT count(*) FROM essay_score_overrides WHERE "
                        "assessment_id = :a", a=key) == 2  # fmt: skip


async def test_refused_overrides_change_nothing(llm: LlmStack) -> None:
    admin = await register_and_login(llm.client, role="ADMIN")
    advisor = await register_and_login(llm.client, role="ADVISOR")
    other_advisor = await register_and_login(llm.client, role="ADVISOR")
    student, assessment, before = await _done(llm)
    await llm.client.data(ASSIGN, {"s": student.id, "a": advisor.id}, admin.token)
    essay_score_id = before["scores"]["essays"][0]["essayScoreId"]
    counts = await _counts(llm, assessment["id"])

    def attempt(**changes: Any) -> dict[str, Any]:
        return {"input": {"essayScoreId": essay_score_id, "score": 0.5, "reason": "Fair.",
                          **changes}}  # fmt: skip

    async def errors(variables: dict[str, Any], caller: Account) -> list[dict[str, Any]]:
        body = await llm.client.data(OVERRIDE, variables, caller.token)
        payload = body["overrideEssayScore"]
        assert payload["override"] is None
        assert payload["job"] is None
        return payload["errors"]  # type: ignore[no-any-return]

    for bad, field in (
        (attempt(score=1.01), ["input", "score"]),
        (attempt(score=-0.1), ["input", "score"]),
        (attempt(reason=""), ["input", "reason"]),
        (attempt(reason=" \t\n "), ["input", "reason"]),
        (attempt(reason="x" * 2001), ["input", "reason"]),
        (attempt(rubric=[{"name": "accuracy", "score": 2}]), ["input", "rubric", "0", "score"]),
        (attempt(rubric=[{"name": "charm", "score": 0.5}]), ["input", "rubric"]),
    ):
        found = await errors(bad, advisor)
        assert [(e["code"], e["field"]) for e in found] == [("VALIDATION_ERROR", field)], bad
    missing = await llm.client.gql(OVERRIDE, attempt(reason=None), advisor.token)
    assert missing["errors"]  # the schema requires a reason
    # Another advisor's student, a well-formed id that does not exist, and a malformed id are
    # refused alike: nothing says the essay exists.
    ghost = "esc_" + "0" * 26
    not_mine = await errors(attempt(), other_advisor)
    assert not_mine == await errors(attempt(essayScoreId=ghost), other_advisor)
    assert not_mine == await errors(attempt(essayScoreId="nonsense"), other_advisor)
    assert [e["code"] for e in not_mine] == ["NOT_FOUND"]
    denied = await llm.client.gql(OVERRIDE, attempt(), student.token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await llm.client.gql(OVERRIDE, attempt())
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    assert await _counts(llm, assessment["id"]) == counts
    assert await _result(llm, student.token, assessment["id"]) == before


EXPORT = "mutation { exportMyData { data errors { code } } }"
FEEDBACK = """query R($id: ID!) { result(assessmentId: $id) { scores { essays { questionId
  feedback } } } }"""


async def test_old_feedback_that_quotes_the_key_is_never_shown_or_exported(llm: LlmStack) -> None:
    """Rows written before the feedback guard: the result and the export check them as they
    are read (secrets: the snapshot's reference answer and key points)."""
    import sqlalchemy as sa
    from sqlmodel import col

    from db.tables import AssessmentQuestion, AssessmentStage, EssayScore, Score
    from domain.feedback_guard import leaked_runs

    student, assessment, result = await _done(llm)
    question_id = _key(result["scores"]["essays"][0]["questionId"])
    async with llm.server.services.db.transaction() as uow:
        question = await uow.session.get(AssessmentQuestion, question_id)
        assert question is not None
        key = question.answer_key_json
        secrets = [key["referenceAnswer"], *key["keyPoints"]]
        leaky = f"Good structure. Missing or unclear key point: {key['keyPoints'][0]}."
        score = (
            await uow.session.scalars(
                sa.select(Score).where(Score.assessment_id == _key(assessment["id"]))
            )
        ).one()
        essays = [dict(e) for e in score.essay_scores_json["essays"]]
        essays[0]["feedback"] = leaky
        score.essay_scores_json = {"essays": essays}
        await uow.session.execute(
            sa.update(EssayScore)
            .where(EssayScore.assessment_question_id == question_id)
            .values(feedback=leaky)
        )
        stage = (
            await uow.session.scalars(
                sa.select(AssessmentStage).where(
                    col(AssessmentStage.assessment_id) == _key(assessment["id"]),
                    col(AssessmentStage.stage) == "gpt_essays",
                )
            )
        ).one()
        stage.output_json = {"essays": essays}
    assert leaked_runs(leaky, secrets=secrets, known=[question.prompt_snapshot])  # it would leak

    shown = (await llm.client.data(FEEDBACK, {"id": assessment["id"]}, student.token))["result"]
    feedback = shown["scores"]["essays"][0]["feedback"]
    assert feedback.startswith("Good structure.")
    assert not leaked_runs(feedback, secrets=secrets, known=[question.prompt_snapshot])
    exported = (await llm.client.data(EXPORT, token=student.token))["exportMyData"]
    assert exported["errors"] == []
    text = json.dumps(exported["data"])
    assert "Good structure." in text
    assert key["keyPoints"][0] not in text


async def test_a_lenient_llm_cannot_pass_a_non_answer(llm: LlmStack) -> None:
    """The LLM (here one that gives every essay 0.9) is checked by the local scorer: a
    non-answer is flagged, scores at most 0.1, and waits for a human."""
    llm.fake.grade = 0.9
    student, assessment = await llm.submit(essay_answer=NON_ANSWER)
    await llm.result(student, assessment)  # waits for DONE
    result = await _result(llm, student.token, assessment["id"])
    essays = result["scores"]["essays"]
    assert essays
    for essay in essays:
        assert essay["scoredBy"] == "LLM"
        assert essay["flags"], essay
        assert essay["score"] <= 0.1
        assert essay["localScore"] <= 0.1
        assert essay["needsReview"] is True
