"""Every string argument of every mutation, filled with hostile text: refused clearly, or saved
only after validation. Nothing half-saved, never a 500 or INTERNAL.

The cases are enumerated from the served schema (every String and ID leaf of every Mutation
argument, input objects and lists included), so a new input field is covered the day it is
added; a test fails if one has no valid baseline to start from. Each case starts from a valid
request and replaces one leaf with:

- 100 000 characters,
- text full of control characters (NUL, BEL, ESC, DEL, a BOM, a right-to-left override),
- a lone surrogate ("\\ud800" in the JSON), which no database can store.

A refusal must leave the row counts of every table a request writes unchanged (on a database
no other test writes to). An acceptance must have stored no NUL and nothing of 100 000
characters.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    get_named_type,
)

from domain import ids
from schema import schema as served_schema
from tests.hostile.support import (
    REQUEST_TABLES,
    assert_handled,
    error_codes,
    graphql_body,
    post_raw,
    row_counts,
)
from tests.support.client import PASSWORD, Account, GraphQLClient, register_and_login, unique_email
from tests.support.db import rows
from tests.support.flows import CREATE_QUESTION, START
from tests.support.stacks import Server

SCHEMA = served_schema._schema
LONG = "x" * 100_000
CONTROL = "Ada\x00 Love\x01lace\x07\x1b[2J\x7f\ufeff\u202eevil"
LONE_SURROGATE = "ab\ud800cd"
HOSTILE = {"long": LONG, "control": CONTROL, "surrogate": LONE_SURROGATE}
# A failed login is audited by design (README "Security notes"); nothing else may be written.
AUDITED_REFUSALS = {"login", "deleteMyAccount"}
# Columns (text and JSON) an accepted hostile value may land in.
STORED_COLUMNS = {
    "users": ("email", "name", "interests_json"),
    "questions": ("prompt", "domain", "tracks_json", "options_json", "rubric_json",
                  "reference_answer", "key_points_json", "scale_json", "interest_area"),
    "assessment_forms": ("name",),
    "credentials": ("slug", "title", "provider", "url", "description", "tags", "domains"),
    "assessments": ("track",),
    "responses": ("answer_text",),
    "recommendation_feedback": ("comment",),
    "webhook_endpoints": ("url", "secret"),
}  # fmt: skip


def string_leaves(type_: GraphQLInputType, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Paths of the String and ID leaves under an input type (list items as index 0)."""
    if isinstance(type_, GraphQLNonNull):
        yield from string_leaves(type_.of_type, path)
    elif isinstance(type_, GraphQLList):
        yield from string_leaves(type_.of_type, (*path, "0"))
    elif isinstance(type_, GraphQLInputObjectType):
        for name, input_field in type_.fields.items():
            yield from string_leaves(input_field.type, (*path, name))
    elif get_named_type(type_).name in ("String", "ID"):
        yield path


def mutation_cases() -> list[tuple[str, tuple[str, ...]]]:
    mutation = SCHEMA.mutation_type
    assert mutation is not None
    return [
        (name, path)
        for name, definition in mutation.fields.items()
        for arg_name, arg in definition.args.items()
        for path in string_leaves(arg.type, (arg_name,))
    ]


def document_for(name: str) -> str:
    mutation = SCHEMA.mutation_type
    assert mutation is not None
    definition = mutation.fields[name]
    declared = ", ".join(f"${a}: {arg.type}" for a, arg in definition.args.items())
    passed = ", ".join(f"{a}: ${a}" for a in definition.args)
    return f"mutation M({declared}) {{ {name}({passed}) {{ __typename errors {{ field code }} }} }}"


def with_value(variables: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    changed = copy.deepcopy(variables)
    target: Any = changed
    for step in path[:-1]:
        target = target[int(step)] if isinstance(target, list) else target[step]
    last = path[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return changed


# ---------------------------------------------------------------- valid baselines


@dataclass
class World:
    student: Account
    admin: Account
    advisor: Account
    assessment_id: str
    questions: dict[str, str]  # type -> an assessment question id of that type
    bank_question_id: str
    credential_id: str
    webhook_id: str


def _theory(**extra: Any) -> dict[str, Any]:
    return {"type": "THEORETICAL", "prompt": "Which port does HTTPS use?", "domain": "networking",
            "tracks": ["hostile-bank"], "difficulty": 1, "options": ["80", "443"],
            "correct": "443", **extra}  # fmt: skip


def _question_for(path: tuple[str, ...]) -> dict[str, Any]:
    """A valid question of the type whose fields the path is about."""
    field = path[1] if len(path) > 1 else ""
    if field in ("rubric", "referenceAnswer", "keyPoints"):
        return {"type": "ESSAY", "prompt": "Explain DNS.", "domain": "networking",
                "tracks": ["hostile-bank"],
                "rubric": [{"name": "clarity", "description": "Clear."}],
                "referenceAnswer": "Resolvers ask root, TLD and authoritative servers.",
                "keyPoints": ["recursive resolver"]}  # fmt: skip
    if field in ("scale", "interestArea"):
        return {"type": "PROFILE", "prompt": "How interested are you in networks?",
                "domain": "interests", "tracks": ["hostile-bank"],
                "scale": {"min": 1, "max": 5, "minLabel": "low", "maxLabel": "high"},
                "interestArea": "networking"}  # fmt: skip
    return _theory()


ESSAY_ANSWER = "A reasoned answer with an example."  # free text, unlike an option key


Baseline = Callable[[World, tuple[str, ...]], tuple[Account, dict[str, Any]]]

BASELINES: dict[str, Baseline] = {
    "register": lambda w, p: (w.student, {"input": {
        "email": unique_email(), "password": PASSWORD, "name": "New", "inviteCode": None,
        "interests": ["data"]}}),
    "login": lambda w, p: (w.student, {"input": {"email": w.student.email, "password": PASSWORD}}),
    "refreshToken": lambda w, p: (w.student, {"refreshToken": w.student.refresh_token}),
    "logout": lambda w, p: (w.student, {"refreshToken": w.student.refresh_token}),
    "updateMe": lambda w, p: (w.student, {"input": {"name": "Name", "interests": ["web"]}}),
    "createQuestion": lambda w, p: (w.admin, {"input": _question_for(p)}),
    "updateQuestion": lambda w, p: (w.admin, {"id": w.bank_question_id, "input": _question_for(p)}),
    "setQuestionActive": lambda w, p: (w.admin, {"id": w.bank_question_id, "active": True}),
    "setAssessmentForm": lambda w, p: (w.admin, {"input": {
        "name": "hostile-form", "composition": {"theoretical": 1, "essay": 1, "profile": 1}}}),
    "upsertCredential": lambda w, p: (w.admin, {"input": {
        "slug": f"hostile-{uuid.uuid4().hex[:8]}", "title": "T", "provider": "P",
        "url": "https://example.edu/c", "description": "D", "tags": ["t"], "domains": ["cloud"]}}),
    "setCredentialActive": lambda w, p: (w.admin, {"id": w.credential_id, "active": True}),
    "startAssessment": lambda w, p: (w.student, {"input": {"track": "general"}}),
    "answerQuestion": lambda w, p: (w.student, {"input": {
        "assessmentId": w.assessment_id, "questionId": w.questions["ESSAY"],
        "answer": ESSAY_ANSWER}}),
    "saveResponses": lambda w, p: (w.student, {"input": {
        "assessmentId": w.assessment_id,
        "responses": [{"questionId": w.questions["ESSAY"], "answer": ESSAY_ANSWER}]}}),
    "submitAssessment": lambda w, p: (w.student, {"input": {"assessmentId": w.assessment_id}}),
    "recordRecommendationFeedback": lambda w, p: (w.student, {"input": {
        "recommendationId": ids.encode(ids.Kind.RECOMMENDATION_ITEM, ids.new_uuid()),
        "accepted": True, "comment": "Useful."}}),
    "createWebhookEndpoint": lambda w, p: (w.admin, {"input": {
        "url": "https://example.edu/hook", "events": ["ASSESSMENT_COMPLETED"],
        "secret": "s" * 32}}),
    "deleteWebhookEndpoint": lambda w, p: (w.admin, {"id": w.webhook_id}),
    "rescoreEssays": lambda w, p: (w.admin, {"assessmentId": w.assessment_id}),
    "upsertTrack": lambda w, p: (w.admin, {"input": {
        "name": "hostile-track", "title": "Hostile", "description": "A track for hostile text.",
        "domains": [{"domain": "networking", "weight": 1}]}}),
    "overrideEssayScore": lambda w, p: (w.admin, {"input": {
        "essayScoreId": ids.encode(ids.Kind.ESSAY_SCORE, ids.new_uuid()), "score": 0.5,
        "reason": "Reviewed by hand.", "rubric": [{"name": "accuracy", "score": 0.5}]}}),
    "deleteMyAccount": lambda w, p: (w.student, {"password": PASSWORD}),
    "assignAdvisor": lambda w, p: (w.admin, {"studentId": w.student.id, "advisorId": w.advisor.id}),
    "setUserRole": lambda w, p: (w.admin, {"userId": w.advisor.id, "role": "ADVISOR"}),
    "deleteUser": lambda w, p: (w.admin, {"userId": w.advisor.id}),
    "retryAssessment": lambda w, p: (w.student, {"assessmentId": w.assessment_id}),
}  # fmt: skip


def test_every_string_argument_has_a_baseline() -> None:
    missing = {name for name, _ in mutation_cases()} - set(BASELINES)
    assert not missing, f"add a valid baseline for {sorted(missing)}"
    assert len(mutation_cases()) >= 60
    assert set(STORED_COLUMNS) <= set(REQUEST_TABLES)  # counted before and after each case


@pytest.fixture(scope="module")
async def world(quiet_client: GraphQLClient, quiet_student: Account, quiet_admin: Account) -> World:
    client = quiet_client
    advisor = await register_and_login(client, role="ADVISOR")
    started = await client.data(START, {"input": {}}, quiet_student.token)
    assessment = started["startAssessment"]["assessment"]
    by_type = {q["type"]: q["id"] for q in assessment["questions"]}
    question = await client.data(CREATE_QUESTION, {"input": _theory()}, quiet_admin.token)
    credential = await client.data(
        "mutation U($input: CredentialInput!) { upsertCredential(input: $input) { "
        "credential { id } errors { code } } }",
        {"input": {"slug": "hostile-credential", "title": "Hostile"}},
        quiet_admin.token,
    )
    webhook = await client.data(
        "mutation W($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { "
        "endpoint { id } errors { code } } }",
        {"input": {"url": "https://example.edu/hook", "events": ["ASSESSMENT_FAILED"]}},
        quiet_admin.token,
    )
    return World(
        student=quiet_student,
        admin=quiet_admin,
        advisor=advisor,
        assessment_id=assessment["id"],
        questions=by_type,
        bank_question_id=question["createQuestion"]["question"]["id"],
        credential_id=credential["upsertCredential"]["credential"]["id"],
        webhook_id=webhook["createWebhookEndpoint"]["endpoint"]["id"],
    )


async def _stored_hostile_text(server: Server) -> list[tuple[str, str]]:
    """(table, column) pairs holding 100 000 characters, a NUL, or a NUL escaped in JSON.
    (PostgreSQL can store neither kind of NUL: there, trying is the failure the request must
    not turn into.)"""
    position = "instr" if server.settings.is_sqlite else "strpos"
    found = []
    for table, columns in STORED_COLUMNS.items():
        for column in columns:
            text = f"CAST({column} AS TEXT)"
            nul = f" OR instr({text}, char(0)) > 0" if server.settings.is_sqlite else ""
            hits = await rows(
                server,
                f"SELECT count(*) AS n FROM {table} WHERE length({text}) >= 100000 "  # noqa: S608
                f"OR {position}({text}, :escaped) > 0{nul}",
                escaped="\\u0000",
            )
            if hits[0]["n"]:
                found.append((table, column))
    return found


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_hostile_text_in_every_string_argument(
    quiet_client: GraphQLClient, quiet_server: Server, world: World, kind: str
) -> None:
    value = HOSTILE[kind]
    accepted: list[str] = []
    failures: list[str] = []  # every case is tried; all failures are listed at the end
    for name, path in mutation_cases():
        caller, baseline = BASELINES[name](world, path)
        variables = with_value(baseline, path, value)
        before = await row_counts(quiet_server)
        response = await post_raw(
            quiet_client.http, graphql_body(document_for(name), variables), caller.token
        )
        case = f"{name} {'.'.join(path)} ({kind})"
        try:
            body = assert_handled(response, case)
        except AssertionError as exc:
            failures.append(str(exc)[:300])
            continue
        if response.status_code >= 400 or (body and error_codes(body)):
            after = await row_counts(quiet_server)
            if name in AUDITED_REFUSALS:
                before.pop("audit_events"), after.pop("audit_events")
            if after != before:
                failures.append(f"{case}: refused but saved {before} -> {after}")
        else:
            accepted.append(case)
    assert failures == []
    if kind in ("long", "surrogate"):
        # Nothing takes 100 000 characters, and a lone surrogate is a 400 before anything runs.
        assert accepted == []
    else:
        # Control characters are removed from free text; fields that must not hold them refuse.
        assert accepted, "the control-character cases should reach the validators"
    assert await _stored_hostile_text(quiet_server) == []
