"""The question bank and forms through the API (ADMIN writes, ADMIN and ADVISOR read)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import scalar
from tests.support.flows import (
    ASSESSMENT,
    CREATE_QUESTION,
    SET_ACTIVE,
    UPDATE_QUESTION,
    publish_form,
    start,
    track,
)
from tests.support.stacks import Server


@pytest.fixture(scope="module")
async def admin(client: GraphQLClient) -> Any:
    return await register_and_login(client, role="ADMIN")


@pytest.fixture(scope="module")
async def advisor(client: GraphQLClient) -> Any:
    return await register_and_login(client, role="ADVISOR")


@pytest.fixture(scope="module")
async def student(client: GraphQLClient) -> Any:
    return await register_and_login(client)


async def _question_count(server: Server) -> int:
    return int(await scalar(server, "SELECT count(*) FROM questions"))


def _theory(own_track: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "THEORETICAL",
        "prompt": "Which port does HTTPS use by default?",
        "domain": "networking",
        "tracks": [own_track],
        "difficulty": 1,
        "options": ["80", "443", "8080"],
        "correct": "443",
        **extra,
    }


async def test_admin_creates_each_type(client: GraphQLClient, admin: Any) -> None:
    own = track()
    theory = (await client.data(CREATE_QUESTION, {"input": _theory(own)}, admin.token))[
        "createQuestion"
    ]
    assert theory["errors"] == []
    question = theory["question"]
    assert question["id"].startswith("q_")
    assert question["correctOption"] == "B"
    assert question["options"] == [
        {"key": "A", "text": "80"},
        {"key": "B", "text": "443"},
        {"key": "C", "text": "8080"},
    ]
    assert question["tracks"] == [own]
    assert question["active"] is True

    essay = (
        await client.data(
            CREATE_QUESTION,
            {
                "input": {
                    "type": "ESSAY",
                    "prompt": "Explain DNS resolution.",
                    "domain": "networking",
                    "tracks": [own],
                    "keyPoints": ["recursive resolver", "root and TLD servers"],
                }
            },
            admin.token,
        )
    )["createQuestion"]["question"]
    assert [(c["name"], c["weight"]) for c in essay["rubric"]] == [
        ("clarity", 1.0),
        ("accuracy", 1.0),
        ("coherence", 1.0),
    ]
    assert essay["correctOption"] is None

    profile = (
        await client.data(
            CREATE_QUESTION,
            {
                "input": {
                    "type": "PROFILE",
                    "prompt": "How interested are you in networking?",
                    "domain": "interests",
                    "tracks": [own],
                    "interestArea": "networking",
                }
            },
            admin.token,
        )
    )["createQuestion"]["question"]
    assert profile["scale"] == {"min": 1, "max": 5, "minLabel": None, "maxLabel": None}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"options": ["only one"]}, ["input", "options"]),
        ({"options": ["a", "A", "b"], "correct": "a"}, ["input", "options", "1"]),
        ({"correct": "42"}, ["input", "correct"]),
        ({"prompt": ""}, ["input", "prompt"]),
        ({"prompt": "p" * 2001}, ["input", "prompt"]),
        ({"referenceAnswer": "not for theory"}, ["input", "referenceAnswer"]),
        ({"difficulty": 9}, ["input", "difficulty"]),
        ({"domain": "Not A Slug!"}, ["input", "domain"]),
    ],
)
async def test_invalid_theoretical_questions_save_nothing(
    client: GraphQLClient, server: Server, admin: Any, patch: dict[str, Any], field: list[str]
) -> None:
    before = await _question_count(server)
    body = await client.data(CREATE_QUESTION, {"input": _theory(track(), **patch)}, admin.token)
    payload = body["createQuestion"]
    assert payload["question"] is None
    assert field in [e["field"] for e in payload["errors"]]
    assert all(e["code"] == "VALIDATION_ERROR" for e in payload["errors"])
    assert await _question_count(server) == before


@pytest.mark.parametrize(
    ("question", "field"),
    [
        (
            {"type": "ESSAY", "keyPoints": ["just one"]},
            ["input", "referenceAnswer"],
        ),
        (
            {
                "type": "ESSAY",
                "referenceAnswer": "r",
                "rubric": [{"name": "depth", "weight": 0}],
            },
            ["input", "rubric", "0", "weight"],
        ),
        (
            {"type": "PROFILE", "scale": {"min": 5, "max": 1}, "interestArea": "web"},
            ["input", "scale"],
        ),
        ({"type": "PROFILE"}, ["input", "interestArea"]),
    ],
)
async def test_invalid_essay_and_profile_questions_save_nothing(
    client: GraphQLClient, server: Server, admin: Any, question: dict[str, Any], field: list[str]
) -> None:
    before = await _question_count(server)
    body = await client.data(
        CREATE_QUESTION,
        {"input": {"prompt": "Explain.", "domain": "web", "tracks": [track()], **question}},
        admin.token,
    )
    payload = body["createQuestion"]
    assert payload["question"] is None
    assert [e["field"] for e in payload["errors"]] == [field]
    assert await _question_count(server) == before


async def test_students_cannot_touch_the_bank(
    client: GraphQLClient, server: Server, student: Any
) -> None:
    before = await _question_count(server)
    body = await client.gql(CREATE_QUESTION, {"input": _theory(track())}, student.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listing = await client.gql("{ questions { totalCount } }", token=student.token)
    assert listing["data"] is None
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await client.gql("{ questions { totalCount } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _question_count(server) == before


async def test_staff_list_the_bank_with_filters_and_pages(
    client: GraphQLClient, admin: Any, advisor: Any
) -> None:
    query = """
    query Bank($type: QuestionType, $domain: String, $first: Int, $after: String) {
      questions(type: $type, domain: $domain, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id type domain } }
      }
    }"""
    first_page = (
        await client.data(query, {"type": "ESSAY", "domain": "security", "first": 2}, advisor.token)
    )["questions"]
    assert first_page["totalCount"] >= 3
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert all(e["node"]["type"] == "ESSAY" for e in first_page["edges"])
    second = (
        await client.data(
            query,
            {"type": "ESSAY", "domain": "security", "first": 2,
             "after": first_page["pageInfo"]["endCursor"]},
            admin.token,
        )
    )["questions"]  # fmt: skip
    first_ids = {e["node"]["id"] for e in first_page["edges"]}
    assert first_ids.isdisjoint({e["node"]["id"] for e in second["edges"]})
    too_many = await client.gql(query, {"first": 101}, admin.token)
    assert too_many["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    bad_cursor = await client.gql(query, {"after": "!!"}, admin.token)
    assert bad_cursor["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_bank_edits_never_reach_started_assessments(
    client: GraphQLClient, admin: Any, student: Any
) -> None:
    own = track()
    created = []
    for index in range(2):
        body = await client.data(
            CREATE_QUESTION,
            {"input": _theory(own, prompt=f"Original prompt {index} {own}")},
            admin.token,
        )
        created.append(body["createQuestion"]["question"])
    # A published form large enough to hold both new questions (students take forms as they
    # are published).
    form = await publish_form(client, admin.token, {"theoretical": 20, "essay": 0, "profile": 0})
    mine = await start(client, student.token, own, form=form)
    prompts_before = {q["prompt"] for q in mine["questions"]}
    assert {q["prompt"] for q in created} <= prompts_before

    for question in created:
        updated = await client.data(
            UPDATE_QUESTION,
            {"id": question["id"], "input": _theory(own, prompt="Edited", options=["1", "2"],
                                                    correct="A")},
            admin.token,
        )  # fmt: skip
        assert updated["updateQuestion"]["question"]["prompt"] == "Edited"
        deactivated = await client.data(
            SET_ACTIVE, {"id": question["id"], "active": False}, admin.token
        )
        assert deactivated["setQuestionActive"]["question"]["active"] is False

    after = (await client.data(ASSESSMENT, {"id": mine["id"]}, student.token))["assessment"]
    assert after["questions"] == mine["questions"]


async def test_update_refuses_a_type_change_and_unknown_ids(
    client: GraphQLClient, admin: Any
) -> None:
    own = track()
    created = (await client.data(CREATE_QUESTION, {"input": _theory(own)}, admin.token))[
        "createQuestion"
    ]["question"]
    essay = {"type": "ESSAY", "prompt": "p", "domain": "web", "referenceAnswer": "r"}
    body = await client.data(UPDATE_QUESTION, {"id": created["id"], "input": essay}, admin.token)
    assert [e["code"] for e in body["updateQuestion"]["errors"]] == ["VALIDATION_ERROR"]
    missing = await client.data(
        UPDATE_QUESTION, {"id": "q_00000000000000000000000000", "input": essay}, admin.token
    )
    assert [e["code"] for e in missing["updateQuestion"]["errors"]] == ["NOT_FOUND"]


# ---------------------------------------------------------------- forms

FORM = """
query Form($name: String) {
  assessmentForm(name: $name) { name expiresInHours composition { theoretical essay profile } }
}"""
SET_FORM = """
mutation SetForm($input: AssessmentFormInput!) {
  setAssessmentForm(input: $input) {
    form { name expiresInHours composition { theoretical essay profile } }
    errors { field code message }
  }
}"""


async def test_default_form(client: GraphQLClient, student: Any) -> None:
    form = (await client.data(FORM, {}, student.token))["assessmentForm"]
    assert form == {
        "name": "default",
        "expiresInHours": 168,
        "composition": {"theoretical": 3, "essay": 3, "profile": 4},
    }


async def test_forms_are_validated_and_admin_only(
    client: GraphQLClient, admin: Any, student: Any
) -> None:
    name = f"pilot-{track()}"
    good = {"name": name, "composition": {"theoretical": 2, "essay": 1, "profile": 0},
            "expiresInHours": 24}  # fmt: skip
    saved = (await client.data(SET_FORM, {"input": good}, admin.token))["setAssessmentForm"]
    assert saved["errors"] == []
    assert saved["form"]["expiresInHours"] == 24

    for composition, field in [
        ({"theoretical": 21, "essay": 0, "profile": 0}, ["input", "composition", "theoretical"]),
        ({"theoretical": -1, "essay": 0, "profile": 0}, ["input", "composition", "theoretical"]),
        ({"theoretical": 0, "essay": 0, "profile": 0}, ["input", "composition"]),
        ({"theoretical": 20, "essay": 20, "profile": 1}, ["input", "composition"]),
    ]:
        body = await client.data(
            SET_FORM, {"input": {"name": name, "composition": composition}}, admin.token
        )
        assert [e["field"] for e in body["setAssessmentForm"]["errors"]] == [field]
    unchanged = (await client.data(FORM, {"name": name}, admin.token))["assessmentForm"]
    assert unchanged["composition"] == {"theoretical": 2, "essay": 1, "profile": 0}

    denied = await client.gql(SET_FORM, {"input": good}, student.token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
