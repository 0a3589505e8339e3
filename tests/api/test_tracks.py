"""Track blueprints through the API: public list, ADMIN upsert, refusals that change nothing,
and assessments of a shipped track that follow its blueprint."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.support.client import GraphQLClient, register_and_login
from tests.support.flows import start, track
from tests.support.stacks import Server

TRACKS = "{ tracks { name title description domains { domain weight } } }"
UPSERT = """
mutation U($input: TrackInput!) {
  upsertTrack(input: $input) {
    track { name title description domains { domain weight } }
    errors { field code message }
  }
}"""
START = """
mutation S($input: StartAssessmentInput!) {
  startAssessment(input: $input) {
    assessment { id questions { type domain } }
    errors { field code message }
  }
}"""
SHIPPED = {"general", "data", "web", "cloud", "security", "software"}


@pytest.fixture(scope="module")
async def admin(client: GraphQLClient) -> Any:
    return await register_and_login(client, role="ADMIN")


@pytest.fixture(scope="module")
async def advisor(client: GraphQLClient) -> Any:
    return await register_and_login(client, role="ADVISOR")


async def _tracks(client: GraphQLClient) -> dict[str, Any]:
    return {t["name"]: t for t in (await client.data(TRACKS, {}))["tracks"]}


async def test_shipped_blueprints_are_public(client: GraphQLClient) -> None:
    tracks = await _tracks(client)  # no token: a visitor picks a track before registering
    assert set(tracks) >= SHIPPED
    assert tracks["security"]["title"] == "Cyber security"
    assert tracks["security"]["domains"] == [
        {"domain": "security", "weight": 5},
        {"domain": "networking", "weight": 4},
        {"domain": "programming", "weight": 3},
        {"domain": "web", "weight": 2},
        {"domain": "cloud-devops", "weight": 1},
    ]
    assert len(tracks["general"]["domains"]) == 8


async def test_admin_upserts_a_track_and_students_start_it(
    client: GraphQLClient, server: Server, admin: Any
) -> None:
    name = f"ops-{track()}"
    good = {"name": name, "title": "Site reliability", "description": "Keeps services up.",
            "domains": [{"domain": "cloud-devops", "weight": 5},
                        {"domain": "networking", "weight": 3},
                        {"domain": "security", "weight": 2}]}  # fmt: skip
    created = (await client.data(UPSERT, {"input": good}, admin.token))["upsertTrack"]
    assert created == {"track": {**good}, "errors": []}
    assert (await _tracks(client))[name] == good

    changed = {**good, "title": "SRE", "domains": good["domains"][:2]}
    updated = (await client.data(UPSERT, {"input": changed}, admin.token))["upsertTrack"]
    assert updated["errors"] == []
    assert (await _tracks(client))[name] == changed

    student = await register_and_login(client)
    body = await client.data(START, {"input": {"track": name}}, student.token)
    assert body["startAssessment"]["errors"] == []
    scored = [q["domain"] for q in body["startAssessment"]["assessment"]["questions"]
              if q["type"] in ("THEORETICAL", "ESSAY")]  # fmt: skip
    # Two core domains (a blueprint of two): every scored item comes from them.
    assert set(scored) <= {"cloud-devops", "networking"}
    assert min(Counter(scored).values()) >= 2


async def test_non_admins_are_refused(client: GraphQLClient, advisor: Any) -> None:
    good = {"name": "nope", "title": "Nope", "domains": [{"domain": "web", "weight": 1}]}
    student = await register_and_login(client)
    for token, code in [(None, "UNAUTHENTICATED"), (student.token, "FORBIDDEN"),
                        (advisor.token, "FORBIDDEN")]:  # fmt: skip
        body = await client.gql(UPSERT, {"input": good}, token)
        assert body["errors"][0]["extensions"]["code"] == code
    assert "nope" not in await _tracks(client)


async def test_bad_blueprints_are_refused_with_paths_and_nothing_changes(
    client: GraphQLClient, admin: Any
) -> None:
    before = await _tracks(client)
    bad = {"name": "web", "title": "Web development", "domains": [
        {"domain": "web", "weight": 0},
        {"domain": "astrology", "weight": 3},
        {"domain": "databases", "weight": -2}]}  # fmt: skip
    body = (await client.data(UPSERT, {"input": bad}, admin.token))["upsertTrack"]
    assert body["track"] is None
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        (["input", "domains", "0", "weight"], "VALIDATION_ERROR"),
        (["input", "domains", "1", "domain"], "VALIDATION_ERROR"),
        (["input", "domains", "2", "weight"], "VALIDATION_ERROR"),
    ]
    assert "'astrology' has no active scored questions" in body["errors"][1]["message"]
    # A new track with one bad domain is not created at all.
    new = {"name": f"n-{track()}", "title": "New", "domains": [
        {"domain": "web", "weight": 2}, {"domain": "astrology", "weight": 1}]}  # fmt: skip
    refused = (await client.data(UPSERT, {"input": new}, admin.token))["upsertTrack"]
    assert [e["field"] for e in refused["errors"]] == [["input", "domains", "1", "domain"]]
    assert await _tracks(client) == before


async def test_unknown_track_names_the_known_ones(client: GraphQLClient) -> None:
    student = await register_and_login(client)
    body = await client.data(START, {"input": {"track": "astronaut"}}, student.token)
    [error] = body["startAssessment"]["errors"]
    assert error["field"] == ["input", "track"]
    assert error["code"] == "VALIDATION_ERROR"
    for name in SHIPPED:
        assert name in error["message"]


@pytest.mark.parametrize("name", sorted(SHIPPED))
async def test_a_started_assessment_follows_the_shipped_blueprint(
    client: GraphQLClient, name: str
) -> None:
    core = [d["domain"] for d in (await _tracks(client))[name]["domains"]][:3]
    student = await register_and_login(client)
    assessment = await start(client, student.token, name)
    scored = Counter(q["domain"] for q in assessment["questions"]
                     if q["type"] in ("THEORETICAL", "ESSAY"))  # fmt: skip
    assert sum(scored.values()) == 6
    assert all(scored[d] >= 2 for d in core), scored
