"""Guessing other people's ids reveals nothing: another person's object reads exactly like one
that does not exist.

The owner has a completed assessment and a draft. Another student (and an advisor who is not
theirs) then asks for them by their real ids, by neighbouring ids (ids are time-ordered UUIDv7,
so a guesser would try the next one), by ids of another kind (a user id where an assessment id
belongs), by malformed ids, and by made-up ids that exist nowhere. Every answer, whole body
compared, must be the same as the made-up id's, through node, assessment, result, scores,
profile, recommendations, assessmentStatus, nextQuestion, user, answerQuestion, saveResponses,
submitAssessment and recordRecommendationFeedback; and nothing may be saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain import ids
from tests.hostile.support import assert_handled
from tests.support.client import Account, GraphQLClient, register_and_login
from tests.support.db import scalar, uuid_param
from tests.support.flows import START
from tests.support.pipeline import RESULT, completed
from tests.support.stacks import Server

ASSESSMENT_QUERIES = {
    "node": "query Q($id: ID!) { node(id: $id) { id __typename } }",
    "assessment": "query Q($id: ID!) { assessment(id: $id) { id status owner { email } } }",
    "result": RESULT,
    "scores": "query Q($id: ID!) { scores(assessmentId: $id) { theoretical { total } } }",
    "profile": "query Q($id: ID!) { profile(assessmentId: $id) { band overallScore } }",
    "recommendations": "query Q($id: ID!) { recommendations(assessmentId: $id) { summary } }",
    "assessmentStatus": "query Q($id: ID!) { assessmentStatus(assessmentId: $id) { status } }",
    "nextQuestion": "query Q($id: ID!) { nextQuestion(assessmentId: $id) { id prompt } }",
}
USER_QUERY = "query U($id: ID!) { user(id: $id) { id email name } }"
NODE_QUERY = ASSESSMENT_QUERIES["node"]
PAYLOAD = "errors { field code message }"
ANSWER = f"""mutation A($input: AnswerInput!) {{
  answerQuestion(input: $input) {{ assessment {{ id }} {PAYLOAD} }} }}"""
SAVE = f"""mutation S($input: SaveResponsesInput!) {{
  saveResponses(input: $input) {{ saved assessment {{ id }} {PAYLOAD} }} }}"""
SUBMIT = f"""mutation S($input: SubmitAssessmentInput!) {{
  submitAssessment(input: $input) {{ assessment {{ id }} job {{ id }} {PAYLOAD} }} }}"""
FEEDBACK = f"""mutation F($input: RecommendationFeedbackInput!) {{
  recordRecommendationFeedback(input: $input) {{ recommendation {{ id }} {PAYLOAD} }} }}"""


def neighbour(public_id: str, step: int = 1) -> str:
    """The id a guesser would try next: the same kind, the UUID plus `step`."""
    kind = ids.kind_of(public_id)
    assert kind is not None
    key = ids.decode(kind, public_id)
    assert key is not None
    return ids.encode(kind, type(key)(int=(key.int + step) % 2**128))


def made_up(kind: ids.Kind) -> str:
    return ids.encode(kind, ids.new_uuid())


@dataclass
class Owner:
    account: Account
    done: dict[str, Any]  # a completed assessment
    draft: dict[str, Any]  # a draft with its questions
    recommendation_item: str


@pytest.fixture(scope="module")
async def owner(client: GraphQLClient) -> Owner:
    account = await register_and_login(client)
    done = await completed(client, account.token)
    result = (await client.data(RESULT, {"id": done["id"]}, account.token))["result"]
    draft = (await client.data(START, {"input": {"track": "data"}}, account.token))[
        "startAssessment"
    ]["assessment"]
    return Owner(account, done, draft, result["recommendations"]["items"][0]["id"])


@pytest.fixture(scope="module")
async def intruders(client: GraphQLClient) -> dict[str, Account]:
    return {
        "other student": await register_and_login(client),
        "other advisor": await register_and_login(client, role="ADVISOR"),
    }


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The body without what differs between any two requests (request ids)."""
    for error in body.get("errors") or []:
        (error.get("extensions") or {}).pop("requestId", None)
    return body


async def _answer(client: GraphQLClient, query: str, variables: dict[str, Any], token: str) -> Any:
    response = await client.post(query, variables, token)
    body = assert_handled(response, (query[:40], variables))
    assert response.status_code == 200
    assert body is not None
    return _comparable(body)


def _guesses(owner: Owner) -> dict[str, str]:
    done, draft = owner.done["id"], owner.draft["id"]
    return {
        "the owner's completed assessment": done,
        "the owner's draft": draft,
        "the next id after the draft": neighbour(draft),
        "the id before the completed one": neighbour(done, -1),
        "a user id where an assessment belongs": owner.account.id,
        "an assessment question id": owner.draft["questions"][0]["id"],
        "an unprefixed uuid": str(ids.decode(ids.Kind.ASSESSMENT, done)),
        "lower case": done.lower(),
        "malformed": "asmt_123",
        "empty": "",
    }


@pytest.mark.parametrize("intruder", ["other student", "other advisor"])
@pytest.mark.parametrize("field", sorted(ASSESSMENT_QUERIES))
async def test_assessment_reads_answer_like_a_missing_one(
    client: GraphQLClient, owner: Owner, intruders: dict[str, Account], field: str, intruder: str
) -> None:
    query = ASSESSMENT_QUERIES[field]
    token = intruders[intruder].token
    missing = await _answer(client, query, {"id": made_up(ids.Kind.ASSESSMENT)}, token)
    assert missing == {"data": {field: None}}
    for label, guess in _guesses(owner).items():
        assert await _answer(client, query, {"id": guess}, token) == missing, label


async def test_user_and_node_reads_of_people_answer_like_missing_ones(
    client: GraphQLClient, owner: Owner, intruders: dict[str, Account]
) -> None:
    advisor = intruders["other advisor"].token
    student = intruders["other student"].token
    for query, token in ((USER_QUERY, advisor), (NODE_QUERY, advisor), (NODE_QUERY, student)):
        missing = await _answer(client, query, {"id": made_up(ids.Kind.USER)}, token)
        for guess in (owner.account.id, neighbour(owner.account.id), owner.account.id.lower()):
            assert await _answer(client, query, {"id": guess}, token) == missing, (query, guess)
    # A student may not read users at all, existing or not: the same FORBIDDEN either way.
    forbidden = await _answer(client, USER_QUERY, {"id": owner.account.id}, student)
    nobody = await _answer(client, USER_QUERY, {"id": made_up(ids.Kind.USER)}, student)
    assert forbidden == nobody
    assert [e["extensions"]["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]


async def test_writes_to_other_peoples_ids_answer_like_missing_ones(
    client: GraphQLClient, server: Server, owner: Owner, intruders: dict[str, Account]
) -> None:
    token = intruders["other student"].token
    own = (await client.data(START, {"input": {}}, token))["startAssessment"]["assessment"]
    draft_id, question_id = owner.draft["id"], owner.draft["questions"][0]["id"]
    nowhere_a, nowhere_q = made_up(ids.Kind.ASSESSMENT), made_up(ids.Kind.ASSESSMENT_QUESTION)

    async def responses() -> int:
        key = uuid_param(server, draft_id)
        found = await scalar(
            server, "SELECT count(*) FROM responses WHERE assessment_id = :a", a=key
        )
        return int(found)

    before = await responses()
    cases = [
        # (the intruder's guess, the same request about something that does not exist)
        (ANSWER, {"assessmentId": draft_id, "questionId": question_id, "answer": "A"},
         {"assessmentId": nowhere_a, "questionId": nowhere_q, "answer": "A"}),
        # The intruder's own assessment with the owner's question in it.
        (ANSWER, {"assessmentId": own["id"], "questionId": question_id, "answer": "A"},
         {"assessmentId": own["id"], "questionId": nowhere_q, "answer": "A"}),
        (SAVE, {"assessmentId": draft_id,
                "responses": [{"questionId": question_id, "answer": "A"}]},
         {"assessmentId": nowhere_a, "responses": [{"questionId": nowhere_q, "answer": "A"}]}),
        (SUBMIT, {"assessmentId": draft_id, "allowIncomplete": True},
         {"assessmentId": nowhere_a, "allowIncomplete": True}),
        (SUBMIT, {"assessmentId": neighbour(draft_id)}, {"assessmentId": nowhere_a}),
        (FEEDBACK, {"recommendationId": owner.recommendation_item, "accepted": False},
         {"recommendationId": made_up(ids.Kind.RECOMMENDATION_ITEM), "accepted": False}),
    ]  # fmt: skip
    for document, guess, nowhere in cases:
        guessed = await _answer(client, document, {"input": guess}, token)
        missing = await _answer(client, document, {"input": nowhere}, token)
        assert guessed == missing, (guess, guessed, missing)
        [payload] = guessed["data"].values()
        assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"], payload
    assert await responses() == before
    status = await client.data(
        ASSESSMENT_QUERIES["assessment"], {"id": draft_id}, owner.account.token
    )
    assert status["assessment"]["status"] == "DRAFT"
    feedback = await scalar(
        server,
        "SELECT count(*) FROM recommendation_feedback WHERE user_id = :u",
        u=uuid_param(server, intruders["other student"].id),
    )
    assert feedback == 0
