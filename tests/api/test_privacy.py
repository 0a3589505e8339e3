"""Personal data (NFR6): the export covers every table that holds a person's data, and an
erasure leaves nothing in any table that points back at them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from db.tables import AdvisorAssignment, EssayScoreOverride, LlmUsage
from domain import ids
from domain.privacy import ERASED_ACTOR, AuditTrace, ErasedPerson, anonymise
from tests.support.client import LOGIN, PASSWORD, Account, GraphQLClient, register_and_login
from tests.support.db import rows, scalar, uuid_param
from tests.support.flows import SAVE, SUBMIT, start, valid_answer
from tests.support.pipeline import completed, wait_for_status
from tests.support.receiver import Receiver, receiver
from tests.support.stacks import Server

EXPORT = "mutation { exportMyData { data errors { field code message } } }"
DELETE_ME = """
mutation DeleteMe($password: String!) {
  deleteMyAccount(password: $password) { ok errors { field code message } }
}"""
DELETE_USER = """
mutation DeleteUser($id: ID!) { deleteUser(userId: $id) { ok errors { field code message } } }
"""
ME = "{ me { id email } }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken errors { field code message } }
}"""
FEEDBACK = """
mutation Feedback($input: RecommendationFeedbackInput!) {
  recordRecommendationFeedback(input: $input) { recommendation { id } errors { code } }
}"""
RESULT_ITEMS = (
    "query R($id: ID!) { result(assessmentId: $id) { recommendations { items { id } } } }"
)
CREATE_HOOK = """
mutation Hook($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id } errors { code } }
}"""
DELETE_HOOK = "mutation Unhook($id: ID!) { deleteWebhookEndpoint(id: $id) { ok } }"

# Every table of the database, and where the export shows a person's rows of it: a path into
# the export document that must hold a value for a student with a full history. A table in
# neither map fails test_export_covers_every_table: decide where it belongs first.
PERSONAL_TABLES = {
    "users": "account.email",
    "refresh_tokens": "sessions.issuedAt",
    "advisor_assignments": "advisor.advisorId",
    "assessments": "assessments.id",
    "assessment_questions": "assessments.questions.prompt",
    "responses": "assessments.questions.answer.submittedAt",
    "essay_scores": "assessments.essayScores.score",
    "essay_score_overrides": "assessments.essayScoreOverrides.reason",
    "assessment_stages": "assessments.pipelineStages.state",
    "scores": "assessments.result.scores.profile",
    "recommendations": "assessments.result.recommendation.summary",
    "recommendation_items": "assessments.result.recommendation.items.rank",
    "rag_traces": "assessments.result.recommendation.items.ragTrace.source",
    "jobs": "assessments.jobs.status",
    "llm_usage": "assessments.llmUsage.purpose",
    "recommendation_feedback": "recommendationFeedback.accepted",
    "webhook_deliveries": "webhookDeliveries.eventType",
    "audit_events": "auditEvents.action",
}
# Tables that hold no one's personal data, and why.
INSTITUTION_TABLES = {
    "questions": "the question bank; what a student saw is exported from its snapshot",
    "assessment_forms": "assessment compositions set by admins",
    "tracks": "track blueprints (weighted domains) set by admins and the seeds",
    "credentials": "the micro-credential catalogue",
    "embeddings_meta": "bookkeeping of the catalogue's vector index",
    "webhook_endpoints": "integrations configured by admins",
    "metrics": "aggregate service metrics, no user ids",
    "item_stats": "per-question sums over all responses (item statistics), no user ids",
    "alembic_version": "migration bookkeeping",
}
# What an answer key holds (db/repositories/assessments.snapshot_of): never exported.
ANSWER_KEY_FIELDS = ("referenceAnswer", "keyPoints", '"correct":"')


# ---------------------------------------------------------------- fixtures and journeys


@pytest.fixture
async def webhook(client: GraphQLClient) -> AsyncIterator[Receiver]:
    """A live endpoint for completed assessments, so deliveries name the student."""
    admin = await register_and_login(client, role="ADMIN")
    async with receiver() as target:
        body = await client.data(
            CREATE_HOOK,
            {"input": {"url": target.url, "events": ["ASSESSMENT_COMPLETED"]}},
            admin.token,
        )
        endpoint_id = body["createWebhookEndpoint"]["endpoint"]["id"]
        try:
            yield target
        finally:
            await client.data(DELETE_HOOK, {"id": endpoint_id}, admin.token)


@dataclass
class Student:
    account: Account
    name: str
    essay: str
    comment: str
    assessment_id: str
    usage_key: str

    @property
    def key(self) -> uuid.UUID:
        key = ids.decode(ids.Kind.USER, self.account.id)
        assert key is not None
        return key

    def needles(self) -> list[str]:
        """Every spelling that would point back at the person."""
        return [self.account.email, self.name, self.essay, self.comment, self.account.id,
                str(self.key), self.key.hex]  # fmt: skip


async def student_with_history(client: GraphQLClient, server: Server, advisor: Account) -> Student:
    """A student with one completed assessment (a distinctive essay), feedback with a comment,
    two sessions, an advisor, an LLM usage row and a webhook delivery about them."""
    marker = uuid.uuid4().hex[:12]
    name = f"Erin Erasable {marker}"
    account = await register_and_login(client, name=name)
    essay = f"Indexes trade write speed for read speed, says essay {marker}."
    assessment = await start(client, account.token)
    await _answer_all(client, account.token, assessment, essay)
    body = await client.data(SUBMIT, {"input": {"assessmentId": assessment["id"]}}, account.token)
    assert body["submitAssessment"]["errors"] == []
    await wait_for_status(client, account.token, assessment["id"], {"DONE"})
    comment = f"Helpful pointer {marker}"
    await _give_feedback(client, account.token, assessment["id"], comment)
    await _login(client, account.email)  # a second refresh session
    await _insert(server, AdvisorAssignment, student_id=_key(account), advisor_id=_key(advisor),
                  assigned_at=datetime.now(UTC))  # fmt: skip
    [scored, *_] = await rows(server, "SELECT id FROM essay_scores WHERE assessment_id = :a",
                              a=uuid_param(server, assessment["id"]))  # fmt: skip
    await _insert(server, EssayScoreOverride, id=uuid.uuid4(),
                  essay_score_id=uuid.UUID(str(scored["id"])),
                  assessment_id=ids.decode(ids.Kind.ASSESSMENT, assessment["id"]),
                  reviewer_id=_key(advisor), score=0.5, reason=f"Reviewed {marker}",
                  created_at=datetime.now(UTC))  # fmt: skip
    usage_key = f"test-privacy:{marker}"
    await _insert(server, LlmUsage, id=uuid.uuid4(), call_key=usage_key,
                  assessment_id=ids.decode(ids.Kind.ASSESSMENT, assessment["id"]),
                  purpose="essay_scoring", model="gpt-4o-mini", prompt_tokens=120,
                  completion_tokens=30, cost_usd=0.0001, month="2000-01",
                  created_at=datetime.now(UTC))  # fmt: skip
    await _wait_for_delivery(server, account.id)
    return Student(account, name, essay, comment, assessment["id"], usage_key)


async def _answer_all(
    client: GraphQLClient, token: str, assessment: dict[str, Any], essay: str
) -> None:
    questions = assessment["questions"]
    assert any(q["type"] == "ESSAY" for q in questions)
    responses = [
        {"questionId": q["id"], "answer": essay if q["type"] == "ESSAY" else valid_answer(q)}
        for q in questions
    ]
    body = await client.data(
        SAVE, {"input": {"assessmentId": assessment["id"], "responses": responses}}, token
    )
    assert body["saveResponses"]["errors"] == []


async def _give_feedback(
    client: GraphQLClient, token: str, assessment_id: str, comment: str
) -> None:
    result = (await client.data(RESULT_ITEMS, {"id": assessment_id}, token))["result"]
    item = result["recommendations"]["items"][0]["id"]
    body = await client.data(
        FEEDBACK,
        {"input": {"recommendationId": item, "accepted": True, "comment": comment}},
        token,
    )
    assert body["recordRecommendationFeedback"]["errors"] == []


async def _login(client: GraphQLClient, email: str) -> dict[str, Any]:
    body = await client.data(LOGIN, {"input": {"email": email, "password": PASSWORD}})
    return body["login"]  # type: ignore[no-any-return]


def _key(account: Account) -> uuid.UUID:
    key = ids.decode(ids.Kind.USER, account.id)
    assert key is not None
    return key


async def _insert(server: Server, table: Any, /, **values: Any) -> None:
    """A row the API has no (finished) way to make yet, through the table model so column
    types convert the values."""
    async with server.services.db.engine.begin() as connection:
        await connection.execute(sa.insert(table).values(**values))


async def _wait_for_delivery(server: Server, user_public_id: str) -> None:
    """The delivery row is written after the receiver answered: wait for it, so no delivery
    is in flight while a test exports or erases."""
    for _ in range(600):
        stored = await scalar(
            server,
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded' "
            "AND CAST(payload_json AS TEXT) LIKE :pattern",
            pattern=f"%{user_public_id}%",
        )
        if stored:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no webhook delivery was recorded")


async def _export(client: GraphQLClient, token: str, **headers: str) -> dict[str, Any]:
    body = await client.gql(EXPORT, token=token, headers=headers)
    assert "errors" not in body, body
    payload = body["data"]["exportMyData"]
    assert payload["errors"] == []
    return payload["data"]  # type: ignore[no-any-return]


def _values_at(document: Any, path: str) -> list[Any]:
    """The non-null values at a dotted path, lists flattened on the way."""
    values = [document]
    for step in path.split("."):
        found = []
        for value in values:
            for member in value if isinstance(value, list) else [value]:
                if isinstance(member, dict) and member.get(step) is not None:
                    found.append(member[step])
        values = found
    return [v for value in values for v in (value if isinstance(value, list) else [value])]


# ---------------------------------------------------------------- the database, table by table


async def table_names(server: Server) -> set[str]:
    async with server.services.db.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    return {name for name in names if not name.startswith("sqlite_")}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, uuid.UUID):
        return f"{value} {value.hex}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


async def traces_of(server: Server, needles: list[str]) -> list[str]:
    """Every cell of every table (JSON as its text) that contains one of the needles."""
    lowered = [n.lower() for n in needles]
    found = []
    for table in sorted(await table_names(server)):
        # The name comes from the database's own catalogue, not from input.
        for row in await rows(server, f'SELECT * FROM "{table}"'):  # noqa: S608
            for column, value in row.items():
                text = _as_text(value).lower()
                found += [f"{table}.{column} holds {n!r}" for n in lowered if n in text]
    return found


async def _footprint(server: Server, user_id: str) -> dict[str, int]:
    """How many rows of the person's data exist (the audit trail aside)."""
    key = uuid_param(server, user_id)
    queries = {
        "users": "SELECT count(*) FROM users WHERE id = :k",
        "refresh_tokens": "SELECT count(*) FROM refresh_tokens WHERE user_id = :k",
        "assessments": "SELECT count(*) FROM assessments WHERE user_id = :k",
        "responses": "SELECT count(*) FROM responses r JOIN assessments a "
        "ON a.id = r.assessment_id WHERE a.user_id = :k",
        "feedback": "SELECT count(*) FROM recommendation_feedback WHERE user_id = :k",
        "advisor": "SELECT count(*) FROM advisor_assignments WHERE student_id = :k",
    }
    return {name: int(await scalar(server, sql, k=key)) for name, sql in queries.items()}


async def _erased_actor_events(server: Server) -> int:
    return int(
        await scalar(server, "SELECT count(*) FROM audit_events WHERE actor = :a", a=ERASED_ACTOR)
    )


async def _events_by(server: Server, public_id: str) -> int:
    return int(
        await scalar(server, "SELECT count(*) FROM audit_events WHERE actor = :a", a=public_id)
    )


def _json(value: Any) -> Any:
    """A JSON column as read by a plain SQL query: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


# ---------------------------------------------------------------- export


async def test_export_covers_every_table(
    client: GraphQLClient, server: Server, webhook: Receiver
) -> None:
    live = await table_names(server)
    modelled = set(SQLModel.metadata.tables)
    listed = set(PERSONAL_TABLES) | set(INSTITUTION_TABLES)
    assert not set(PERSONAL_TABLES) & set(INSTITUTION_TABLES)
    assert live | modelled == listed, (
        f"unlisted tables: {sorted((live | modelled) - listed)}; "
        f"listed but gone: {sorted(listed - (live | modelled))}"
    )

    advisor = await register_and_login(client, role="ADVISOR")
    student = await student_with_history(client, server, advisor)
    document = await _export(client, student.account.token)

    uncovered = [
        f"{table} -> {path}"
        for table, path in PERSONAL_TABLES.items()
        if not _values_at(document, path)
    ]
    assert not uncovered, uncovered
    text = json.dumps(document)
    assert document["account"]["id"] == student.account.id
    assert document["account"]["email"] == student.account.email
    assert document["account"]["name"] == student.name
    assert document["advisor"]["advisorId"] == advisor.id
    assert len(document["sessions"]) == 2
    assert "tokenHash" not in text
    assert "token_hash" not in text
    [assessment] = document["assessments"]
    assert assessment["id"] == student.assessment_id
    answers = _values_at(assessment, "questions.answer.text")
    assert student.essay in answers
    assert _values_at(assessment, "questions.answer.correct")  # right or wrong, not the key
    assert not [field for field in ANSWER_KEY_FIELDS if field in text.replace(" ", "")]
    assert assessment["result"]["scores"]["profile"]["band"]
    assert assessment["result"]["recommendation"]["items"]
    [usage] = assessment["llmUsage"]
    assert usage == {"purpose": "essay_scoring", "model": "gpt-4o-mini", "promptTokens": 120,
                     "completionTokens": 30, "costUsd": 0.0001,
                     "createdAt": usage["createdAt"]}  # fmt: skip
    [feedback] = document["recommendationFeedback"]
    assert (feedback["accepted"], feedback["comment"]) == (True, student.comment)
    # Other tests' endpoints may have received the same event: this test's receiver is local.
    [delivery, *_] = [d for d in document["webhookDeliveries"] if d["receiverHost"] == "127.0.0.1"]
    assert delivery["payload"]["data"]["userId"] == student.account.id
    actions = {event["action"] for event in document["auditEvents"]}
    assert {"auth.register", "auth.login", "assessment.start", "assessment.submit",
            "recommendation.feedback"} <= actions  # fmt: skip
    password_hash = await scalar(
        server,
        "SELECT password_hash FROM users WHERE id = :k",
        k=uuid_param(server, student.account.id),
    )
    assert password_hash.startswith("$2")
    assert password_hash not in text
    assert await _events_by(server, student.account.id) > 0
    exports = await scalar(
        server, "SELECT count(*) FROM audit_events WHERE action = 'account.export' "
        "AND subject_id = :k", k=uuid_param(server, student.account.id),
    )  # fmt: skip
    assert exports == 1

    advisor_view = await _export(client, advisor.token)
    assert advisor_view["advisedStudents"] == [
        {
            "studentId": student.account.id,
            "assignedAt": advisor_view["advisedStudents"][0]["assignedAt"],
        }
    ]
    assert student.essay not in json.dumps(advisor_view)


# ---------------------------------------------------------------- erasure


async def test_erasure_leaves_no_personal_data(
    client: GraphQLClient, server: Server, webhook: Receiver
) -> None:
    advisor = await register_and_login(client, role="ADVISOR")
    student = await student_with_history(client, server, advisor)
    account = student.account
    assert await traces_of(server, student.needles())  # the scan does see them while they live

    before = await _footprint(server, account.id)
    refused = await client.data(DELETE_ME, {"password": "not the password"}, account.token)
    assert refused["deleteMyAccount"] == {
        "ok": False,
        "errors": [{"field": ["password"], "code": "INVALID_CREDENTIALS",
                    "message": "The password is incorrect."}],
    }  # fmt: skip
    assert await _footprint(server, account.id) == before

    acted = await _events_by(server, account.id)
    erased_before = await _erased_actor_events(server)
    body = await client.data(DELETE_ME, {"password": PASSWORD}, account.token)
    assert body["deleteMyAccount"] == {"ok": True, "errors": []}

    assert _code(await client.gql(ME, token=account.token)) == "UNAUTHENTICATED"
    refreshed = (await client.data(REFRESH, {"token": account.refresh_token}))["refreshToken"]
    assert [e["code"] for e in refreshed["errors"]] == ["UNAUTHENTICATED"]
    login = await _login(client, account.email)
    assert [e["code"] for e in login["errors"]] == ["INVALID_CREDENTIALS"]

    assert await traces_of(server, student.needles()) == []
    # The audit trail stays, anonymised: the student's own events and the erasure itself.
    assert await _erased_actor_events(server) == erased_before + acted + 1
    assert await scalar(
        server, "SELECT assessment_id FROM llm_usage WHERE call_key = :k", k=student.usage_key
    ) is None  # cost accounting kept, detached  # fmt: skip
    assert await _footprint(server, advisor.id) == {
        "users": 1, "refresh_tokens": 1, "assessments": 0, "responses": 0, "feedback": 0,
        "advisor": 0,
    }  # fmt: skip


async def test_admin_erases_a_user_and_nobody_else_may(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    name = f"Dana Deletable {uuid.uuid4().hex[:12]}"
    student = await register_and_login(client, name=name)
    assessment = await completed(client, student.token)

    for role in ("STUDENT", "ADVISOR"):
        other = await register_and_login(client, role=role)
        denied = await client.gql(DELETE_USER, {"id": student.id}, other.token)
        assert _code(denied) == "FORBIDDEN"
    assert (await _footprint(server, student.id))["users"] == 1
    assert _code(await client.gql(DELETE_USER, {"id": student.id})) == "UNAUTHENTICATED"

    for unknown in (ids.encode(ids.Kind.USER, uuid.uuid4()), "nonsense", assessment["id"]):
        body = await client.data(DELETE_USER, {"id": unknown}, admin.token)
        assert body["deleteUser"] == {"ok": False, "errors": [
            {"field": ["userId"], "code": "NOT_FOUND", "message": "User not found"}]}  # fmt: skip
    itself = await client.data(DELETE_USER, {"id": admin.id}, admin.token)
    assert [(e["field"], e["code"]) for e in itself["deleteUser"]["errors"]] == [
        (["userId"], "VALIDATION_ERROR")
    ]

    body = await client.data(DELETE_USER, {"id": student.id}, admin.token)
    assert body["deleteUser"] == {"ok": True, "errors": []}
    key = _key(student)
    assert await traces_of(server, [student.email, name, student.id, str(key), key.hex]) == []
    assert _code(await client.gql(ME, token=student.token)) == "UNAUTHENTICATED"
    again = await client.data(DELETE_USER, {"id": student.id}, admin.token)
    assert [e["code"] for e in again["deleteUser"]["errors"]] == ["NOT_FOUND"]
    events = await rows(
        server, "SELECT actor, resource, subject_id FROM audit_events "
        "WHERE action = 'account.delete' AND actor = :a", a=admin.id,
    )  # fmt: skip
    assert events == [{"actor": admin.id, "resource": None, "subject_id": None}]


async def test_privacy_mutations_need_a_signed_in_caller(client: GraphQLClient) -> None:
    assert _code(await client.gql(EXPORT)) == "UNAUTHENTICATED"
    assert _code(await client.gql(DELETE_ME, {"password": PASSWORD})) == "UNAUTHENTICATED"


# ---------------------------------------------------------------- the audit trail


async def test_export_and_erasure_are_audited_without_personal_data(
    client: GraphQLClient, server: Server
) -> None:
    name = f"Audra Audited {uuid.uuid4().hex[:12]}"
    student = await register_and_login(client, name=name)
    export_request = f"export-{uuid.uuid4().hex}"
    await _export(client, student.token, **{"x-request-id": export_request})
    [exported] = await rows(
        server, "SELECT actor, resource, subject_id, meta_json FROM audit_events "
        "WHERE action = 'account.export' AND request_id = :r", r=export_request,
    )  # fmt: skip
    assert (exported["actor"], exported["resource"]) == (student.id, student.id)
    assert exported["subject_id"] in (_key(student), _key(student).hex)
    assert _json(exported["meta_json"]) is None

    delete_request = f"delete-{uuid.uuid4().hex}"
    response = await client.post(
        DELETE_ME, {"password": PASSWORD}, student.token, headers={"x-request-id": delete_request}
    )
    assert response.json()["data"]["deleteMyAccount"]["ok"] is True
    [deleted] = await rows(
        server, "SELECT actor, resource, subject_id, meta_json FROM audit_events "
        "WHERE action = 'account.delete' AND request_id = :r", r=delete_request,
    )  # fmt: skip
    meta = _json(deleted["meta_json"])
    assert (deleted["actor"], deleted["resource"], deleted["subject_id"]) == (
        ERASED_ACTOR, None, None,
    )  # fmt: skip
    assert meta["selfService"] is True
    assert meta["erased"]["users"] == 1
    assert meta["erased"]["refresh_tokens"] == 1
    assert student.email not in json.dumps(meta)
    assert name not in json.dumps(meta)
    # The export event itself was anonymised with the rest of the trail.
    [kept] = await rows(
        server, "SELECT actor, resource, subject_id FROM audit_events "
        "WHERE action = 'account.export' AND request_id = :r", r=export_request,
    )  # fmt: skip
    assert kept == {"actor": ERASED_ACTOR, "resource": None, "subject_id": None}


# ---------------------------------------------------------------- what anonymising keeps


def test_anonymising_keeps_reviewed_meta_that_names_no_one() -> None:
    person = ErasedPerson.of(
        "usr_01ABC", identifiers=["ada@example.edu", "Ada Lovelace"], resources=["asmt_01XYZ"]
    )
    trace = AuditTrace(
        actor="usr_01ABC",
        resource="asmt_01XYZ",
        meta={"role": "student", "accepted": True, "comment": "free text", "email": "x@y.z",
              "url": "mailto:ada@example.edu", "fields": ["name", "Ada Lovelace"],
              "composition": {"essay": 2}, "reason": "usr_01ABC asked"},
    )  # fmt: skip
    assert anonymise(trace, person) == AuditTrace(
        actor=ERASED_ACTOR,
        resource=None,
        meta={"role": "student", "accepted": True, "fields": ["name"],
              "composition": {"essay": 2}},
    )  # fmt: skip
    other = AuditTrace(actor="usr_02ADVISOR", resource="q_01QUESTION", meta={"note": "x"})
    assert anonymise(other, person) == AuditTrace("usr_02ADVISOR", "q_01QUESTION", None)
