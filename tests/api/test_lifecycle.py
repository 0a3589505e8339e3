"""Start, answer, save, submit: every validation and state error, each proving nothing changed."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.tables import Assessment
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, scalar, update_row, uuid_param
from tests.support.flows import (
    ANSWER,
    ASSESSMENT,
    SAVE,
    START,
    SUBMIT,
    answer_all,
    start,
    valid_answer,
)
from tests.support.stacks import Server


async def _answered(server: Server, assessment_id: str) -> int:
    return int(
        await scalar(
            server,
            "SELECT count(*) FROM responses WHERE assessment_id = :a",
            a=uuid_param(server, assessment_id),
        )
    )


async def _jobs(server: Server, assessment_id: str, type_: str) -> int:
    return int(
        await scalar(
            server,
            "SELECT count(*) FROM jobs WHERE assessment_id = :a AND type = :t",
            a=uuid_param(server, assessment_id),
            t=type_,
        )
    )


# ---------------------------------------------------------------- start


async def test_start_gives_the_default_composition_in_order(client: GraphQLClient) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    assert assessment["status"] == "DRAFT"
    assert assessment["composition"] == {"theoretical": 3, "essay": 3, "profile": 4}
    assert assessment["totalCount"] == 10
    assert assessment["answeredCount"] == 0
    assert assessment["owner"] == {"id": student.id}
    types = [q["type"] for q in assessment["questions"]]
    assert types == ["THEORETICAL"] * 3 + ["ESSAY"] * 3 + ["PROFILE"] * 4
    assert [q["orderNo"] for q in assessment["questions"]] == list(range(1, 11))
    # The general track's blueprint (seeds/tracks.yaml): its core, programming, algorithms and
    # databases, gets two scored items each, one theory item and one essay.
    scored = Counter(
        (q["domain"], q["type"]) for q in assessment["questions"] if q["type"] != "PROFILE"
    )
    assert scored == {
        (domain, kind): 1
        for domain in ("programming", "algorithms", "databases")
        for kind in ("THEORETICAL", "ESSAY")
    }
    assert all(q["answered"] is False and q["answer"] is None for q in assessment["questions"])
    essays = [q for q in assessment["questions"] if q["type"] == "ESSAY"]
    assert all(q["rubric"] for q in essays)
    hours = _hours_between(assessment["createdAt"], assessment["expiresAt"])
    assert hours == pytest.approx(168, abs=0.01)


def _hours_between(start_at: str, end_at: str) -> float:
    return (
        datetime.fromisoformat(end_at) - datetime.fromisoformat(start_at)
    ).total_seconds() / 3600


async def test_answer_keys_never_reach_students(client: GraphQLClient) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    for field in ("correctOption", "referenceAnswer", "keyPoints"):
        body = await client.gql(
            f"query($id: ID!) {{ assessment(id: $id) {{ questions {{ {field} }} }} }}",
            {"id": assessment["id"]},
            student.token,
        )
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    body = (await client.post(ASSESSMENT, {"id": assessment["id"]}, student.token)).json()
    assert not _keys(body) & {"correct", "correctOption", "referenceAnswer", "keyPoints",
                               "answerKey", "isCorrect"}  # fmt: skip


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_starting_again_returns_the_open_draft(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    first = await client.data(START, {"input": {"track": "data"}}, student.token)
    again = await client.data(START, {"input": {"track": "data"}}, student.token)
    assert first["startAssessment"]["reused"] is False
    assert again["startAssessment"]["reused"] is True
    assert (
        again["startAssessment"]["assessment"]["id"] == first["startAssessment"]["assessment"]["id"]
    )
    other_track = await client.data(START, {"input": {"track": "web"}}, student.token)
    assert other_track["startAssessment"]["reused"] is False
    drafts = await scalar(
        server,
        "SELECT count(*) FROM assessments WHERE user_id = :u",
        u=uuid_param(server, student.id),
    )
    assert drafts == 2


async def test_concurrent_starts_create_one_draft(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    bodies = await asyncio.gather(
        *(client.data(START, {"input": {"track": "cloud"}}, student.token) for _ in range(5))
    )
    ids = {b["startAssessment"]["assessment"]["id"] for b in bodies}
    assert len(ids) == 1
    assert [b["startAssessment"]["errors"] for b in bodies] == [[]] * 5
    drafts = await scalar(
        server,
        "SELECT count(*) FROM assessments WHERE user_id = :u",
        u=uuid_param(server, student.id),
    )
    assert drafts == 1


async def test_start_errors_save_nothing(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    # Only an admin may set a composition (students take published forms): the bank's
    # shortage is what an admin asking for too much is told.
    admin = await register_and_login(client, role="ADMIN")
    unknown = await client.data(START, {"input": {"track": "astrology"}}, student.token)
    assert [e["field"] for e in unknown["startAssessment"]["errors"]] == [["input", "track"]]

    too_many = await client.data(
        START,
        {"input": {"track": "general",
                   "composition": {"theoretical": 1, "essay": 20, "profile": 1}}},
        admin.token,
    )  # fmt: skip
    errors = too_many["startAssessment"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("VALIDATION_ERROR", ["input", "composition", "essay"])
    ]
    assert re.match(
        r"Only \d+ active ESSAY question\(s\) exist for track 'general'", errors[0]["message"]
    )

    out_of_range = await client.data(
        START,
        {"input": {"composition": {"theoretical": 0, "essay": 0, "profile": 0}}},
        student.token,
    )
    assert out_of_range["startAssessment"]["errors"][0]["field"] == ["input", "composition"]
    for account in (student, admin):
        count = await scalar(
            server,
            "SELECT count(*) FROM assessments WHERE user_id = :u",
            u=uuid_param(server, account.id),
        )
        assert count == 0


# ---------------------------------------------------------------- answering


async def test_answering_one_by_one(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    questions = assessment["questions"]
    theory, essay, profile = questions[0], questions[3], questions[6]

    first = (
        await client.data(
            ANSWER,
            {"input": {"assessmentId": assessment["id"], "questionId": theory["id"],
                       "answer": theory["options"][1]["key"].lower()}},
            student.token,
        )
    )["answerQuestion"]  # fmt: skip
    assert first["errors"] == []
    assert first["assessment"]["answeredCount"] == 1
    assert first["nextQuestion"]["id"] == questions[1]["id"]

    # Re-answering replaces the earlier answer.
    await client.data(
        ANSWER,
        {"input": {"assessmentId": assessment["id"], "questionId": theory["id"], "answer": "A"}},
        student.token,
    )
    essay_text = "  Caching keeps\u0000 hot data close.\n\nIt trades memory for latency.  "
    await client.data(
        ANSWER,
        {"input": {"assessmentId": assessment["id"], "questionId": essay["id"],
                   "answer": essay_text}},
        student.token,
    )  # fmt: skip
    await client.data(
        ANSWER,
        {"input": {"assessmentId": assessment["id"], "questionId": profile["id"], "answer": " 4 "}},
        student.token,
    )
    after = (await client.data(ASSESSMENT, {"id": assessment["id"]}, student.token))["assessment"]
    answers = {q["id"]: q["answer"] for q in after["questions"]}
    assert answers[theory["id"]] == "A"
    assert answers[essay["id"]] == "Caching keeps hot data close.\n\nIt trades memory for latency."
    assert answers[profile["id"]] == "4"
    assert after["answeredCount"] == 3
    assert await _answered(server, assessment["id"]) == 3
    # The essay's scoring job was written (the outbox) for the worker.
    assert await _jobs(server, assessment["id"], "essay") == 1
    # The rule score is stored at once, never shown before the result.
    stored = await rows(
        server,
        "SELECT is_correct FROM responses WHERE assessment_question_id = :q",
        q=uuid_param(server, theory["id"]),
    )
    assert stored[0]["is_correct"] in (True, False)

    following = await client.data(
        "query($id: ID!) { nextQuestion(assessmentId: $id) { id } }",
        {"id": assessment["id"]},
        student.token,
    )
    assert following["nextQuestion"]["id"] == questions[1]["id"]


@pytest.mark.parametrize(
    ("index", "answer"),
    [(0, "Z"), (0, ""), (3, "   "), (3, "x" * 5001), (6, "0"), (6, "6"), (6, "3.5"), (6, "")],
)
async def test_invalid_answers_save_nothing(
    client: GraphQLClient, server: Server, index: int, answer: str
) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    question = assessment["questions"][index]
    body = await client.data(
        ANSWER,
        {"input": {"assessmentId": assessment["id"], "questionId": question["id"],
                   "answer": answer}},
        student.token,
    )  # fmt: skip
    payload = body["answerQuestion"]
    assert payload["assessment"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION_ERROR", ["input", "answer"])
    ]
    assert await _answered(server, assessment["id"]) == 0


async def test_another_users_assessment_is_not_found(client: GraphQLClient, server: Server) -> None:
    owner = await register_and_login(client)
    intruder = await register_and_login(client)
    assessment = await start(client, owner.token)
    question = assessment["questions"][0]
    for document, variables in [
        (ANSWER, {"input": {"assessmentId": assessment["id"], "questionId": question["id"],
                            "answer": "A"}}),
        (SAVE, {"input": {"assessmentId": assessment["id"],
                          "responses": [{"questionId": question["id"], "answer": "A"}]}}),
        (SUBMIT, {"input": {"assessmentId": assessment["id"], "allowIncomplete": True}}),
    ]:  # fmt: skip
        body = await client.data(document, variables, intruder.token)
        payload = next(iter(body.values()))
        assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
        not_found_message = payload["errors"][0]["message"]
    assert (await client.data(ASSESSMENT, {"id": assessment["id"]}, intruder.token)) == {
        "assessment": None
    }
    assert await _answered(server, assessment["id"]) == 0
    status = await scalar(
        server,
        "SELECT status FROM assessments WHERE id = :a",
        a=uuid_param(server, assessment["id"]),
    )
    assert status == "draft"
    # The same answer for an id that never existed: indistinguishable.
    ghost = await client.data(
        ANSWER,
        {"input": {"assessmentId": "asmt_00000000000000000000000000",
                   "questionId": question["id"], "answer": "A"}},
        intruder.token,
    )  # fmt: skip
    assert ghost["answerQuestion"]["errors"][0]["message"] == not_found_message


async def test_a_bad_response_rejects_the_whole_batch(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    questions = assessment["questions"]
    responses = [{"questionId": q["id"], "answer": valid_answer(q)} for q in questions]
    responses[1]["answer"] = "nope"
    responses[7]["answer"] = "99"
    responses.append({"questionId": "aq_00000000000000000000000000", "answer": "A"})
    body = await client.data(
        SAVE, {"input": {"assessmentId": assessment["id"], "responses": responses}}, student.token
    )
    payload = body["saveResponses"]
    assert payload["saved"] == 0
    assert sorted((e["code"], tuple(e["field"])) for e in payload["errors"]) == [
        ("NOT_FOUND", ("input", "responses", "10", "questionId")),
        ("VALIDATION_ERROR", ("input", "responses", "1", "answer")),
        ("VALIDATION_ERROR", ("input", "responses", "7", "answer")),
    ]
    assert await _answered(server, assessment["id"]) == 0
    assert await _jobs(server, assessment["id"], "essay") == 0


async def test_partial_saves_then_a_final_chunk_submits(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    questions = assessment["questions"]
    first_half = [{"questionId": q["id"], "answer": valid_answer(q)} for q in questions[:5]]
    body = await client.data(
        SAVE, {"input": {"assessmentId": assessment["id"], "responses": first_half}}, student.token
    )
    assert body["saveResponses"]["saved"] == 5
    assert body["saveResponses"]["job"] is None

    # A final chunk that leaves questions unanswered: the answers are kept, the submit refused.
    partial = [{"questionId": questions[5]["id"], "answer": valid_answer(questions[5])}]
    early = await client.data(
        SAVE,
        {"input": {"assessmentId": assessment["id"], "responses": partial, "isFinalChunk": True}},
        student.token,
    )
    payload = early["saveResponses"]
    assert payload["saved"] == 1
    assert [e["code"] for e in payload["errors"]] == ["INCOMPLETE"]
    assert payload["errors"][0]["field"] == ["input", "assessmentId"]
    unanswered = {q["id"] for q in questions[6:]}
    assert len(unanswered) == 4
    assert all(question in payload["errors"][0]["message"] for question in unanswered)
    assert await _answered(server, assessment["id"]) == 6

    rest = [{"questionId": q["id"], "answer": valid_answer(q)} for q in questions[6:]]
    final = await client.data(
        SAVE,
        {"input": {"assessmentId": assessment["id"], "responses": rest, "isFinalChunk": True}},
        student.token,
    )
    done = final["saveResponses"]
    assert done["errors"] == []
    assert done["saved"] == 4
    assert done["assessment"]["status"] == "QUEUED"
    assert done["job"]["type"] == "pipeline"
    assert done["job"]["id"].startswith("job_")


# ---------------------------------------------------------------- submit


async def test_submit_needs_every_answer_unless_told(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    refused = (
        await client.data(SUBMIT, {"input": {"assessmentId": assessment["id"]}}, student.token)
    )["submitAssessment"]
    assert refused["job"] is None
    assert [e["code"] for e in refused["errors"]] == ["INCOMPLETE"]
    assert refused["errors"][0]["field"] == ["input", "assessmentId"]
    assert all(q["id"] in refused["errors"][0]["message"] for q in assessment["questions"])
    assert await _jobs(server, assessment["id"], "pipeline") == 0

    accepted = (
        await client.data(
            SUBMIT,
            {"input": {"assessmentId": assessment["id"], "allowIncomplete": True}},
            student.token,
        )
    )["submitAssessment"]
    assert accepted["errors"] == []
    assert accepted["assessment"]["status"] == "QUEUED"
    assert accepted["assessment"]["submittedAt"]
    assert accepted["job"]["status"] == "queued"


async def test_submit_is_idempotent_and_closes_the_draft(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    await answer_all(client, student.token, assessment)
    variables = {"input": {"assessmentId": assessment["id"]}}
    first = (await client.data(SUBMIT, variables, student.token))["submitAssessment"]
    second = (await client.data(SUBMIT, variables, student.token))["submitAssessment"]
    assert first["errors"] == second["errors"] == []
    assert second["job"]["id"] == first["job"]["id"]
    assert second["assessment"]["submittedAt"] == first["assessment"]["submittedAt"]

    question = assessment["questions"][0]
    late = await client.data(
        ANSWER,
        {"input": {"assessmentId": assessment["id"], "questionId": question["id"], "answer": "B"}},
        student.token,
    )
    assert [e["code"] for e in late["answerQuestion"]["errors"]] == ["INVALID_STATE"]
    answer_now = (await client.data(ASSESSMENT, {"id": assessment["id"]}, student.token))[
        "assessment"
    ]["questions"][0]["answer"]
    assert answer_now == valid_answer(question)
    # A new assessment on the same track is possible once the draft is submitted.
    fresh = await client.data(START, {"input": {"track": "general"}}, student.token)
    assert fresh["startAssessment"]["reused"] is False


async def test_ten_concurrent_submits_make_one_job(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    await answer_all(client, student.token, assessment)
    variables = {"input": {"assessmentId": assessment["id"]}}
    bodies = await asyncio.gather(
        *(client.data(SUBMIT, variables, student.token) for _ in range(10))
    )
    jobs = {b["submitAssessment"]["job"]["id"] for b in bodies}
    assert len(jobs) == 1
    assert all(b["submitAssessment"]["errors"] == [] for b in bodies)
    assert await _jobs(server, assessment["id"], "pipeline") == 1


async def test_expired_drafts(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token, "security")
    await update_row(
        server, Assessment, assessment["id"], expires_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    shown = (await client.data(ASSESSMENT, {"id": assessment["id"]}, student.token))["assessment"]
    assert shown["status"] == "EXPIRED"
    question = assessment["questions"][0]
    body = await client.data(
        ANSWER,
        {"input": {"assessmentId": assessment["id"], "questionId": question["id"], "answer": "A"}},
        student.token,
    )
    assert [e["code"] for e in body["answerQuestion"]["errors"]] == ["EXPIRED"]
    submit = await client.data(
        SUBMIT,
        {"input": {"assessmentId": assessment["id"], "allowIncomplete": True}},
        student.token,
    )
    assert [e["code"] for e in submit["submitAssessment"]["errors"]] == ["EXPIRED"]
    assert await _answered(server, assessment["id"]) == 0
    assert await _jobs(server, assessment["id"], "pipeline") == 0
    stored = await scalar(
        server,
        "SELECT status FROM assessments WHERE id = :a",
        a=uuid_param(server, assessment["id"]),
    )
    assert stored == "expired"
    # The expired draft no longer blocks the track.
    fresh = await client.data(START, {"input": {"track": "security"}}, student.token)
    assert fresh["startAssessment"]["reused"] is False


# ---------------------------------------------------------------- reads


async def test_my_assessments_pages_newest_first(client: GraphQLClient) -> None:
    student = await register_and_login(client)
    made = [(await start(client, student.token, t))["id"] for t in ("general", "data", "web")]
    query = """
    query Mine($after: String) {
      myAssessments(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id track } }
      }
    }"""
    page = (await client.data(query, {}, student.token))["myAssessments"]
    assert page["totalCount"] == 3
    assert [e["node"]["id"] for e in page["edges"]] == [made[2], made[1]]
    rest = (await client.data(query, {"after": page["pageInfo"]["endCursor"]}, student.token))[
        "myAssessments"
    ]
    assert [e["node"]["id"] for e in rest["edges"]] == [made[0]]
    assert rest["pageInfo"]["hasNextPage"] is False
    via_me = await client.data(
        "{ me { assessments(first: 5) { totalCount } } }", token=student.token
    )
    assert via_me["me"]["assessments"]["totalCount"] == 3


# ---------------------------------------------------------------- property


_answer_text = st.one_of(
    st.sampled_from(["A", "b", "C", "D", "Z", "1", "3", "5", "6", "-1", "", "  ", "2.5"]),
    st.text(max_size=40),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.tuples(st.integers(0, 9), _answer_text), min_size=1, max_size=8))
async def test_random_batches_never_leave_a_partial_write(
    client: GraphQLClient, server: Server, batch: list[tuple[int, str]]
) -> None:
    student = await register_and_login(client)
    assessment = await start(client, student.token)
    questions = assessment["questions"]
    responses = [{"questionId": questions[i]["id"], "answer": a} for i, a in batch]
    body = await client.data(
        SAVE, {"input": {"assessmentId": assessment["id"], "responses": responses}}, student.token
    )
    payload = body["saveResponses"]
    stored = await _answered(server, assessment["id"])
    if payload["errors"]:
        assert payload["saved"] == 0
        assert stored == 0
    else:
        assert payload["saved"] == len(batch)
        assert stored == len({i for i, _ in batch})
