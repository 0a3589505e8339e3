"""Published forms and retake rules (issue 13): students take published forms as they are, an
admin's own composition is a custom try-out that is never counted, a retake during the form's
cooldown is refused saying when it opens (nothing saved), and no question comes back across a
student's attempts until the track's pool for its domain and kind is used up.

The shared test servers run with RETAKE_COOLDOWN_HOURS=0 (tests/support/stacks.py); the
cooldown is exercised here through forms that set their own, and through a server of this
module's own with the setting."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from db.tables import Assessment
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, scalar, update_row, uuid_param
from tests.support.flows import START, SUBMIT, answer_all, publish_form, start
from tests.support.pipeline import wait_for_status
from tests.support.stacks import Server, StackConfig

DEFAULT = {"theoretical": 3, "essay": 3, "profile": 4}
SMALL = {"theoretical": 2, "essay": 1, "profile": 1}
# No essays: the pipeline of a test that waits for DONE stays short.
QUICK = {"theoretical": 2, "essay": 0, "profile": 1}
ME = "{ me { latestProfile { assessmentId band } } }"
CUSTOM = "query C($id: ID!) { assessment(id: $id) { form custom } }"
START_FIELDS = """
mutation S($input: StartAssessmentInput!) {
  startAssessment(input: $input) {
    assessment { id track form custom createdAt composition { theoretical essay profile } }
    reused
    errors { field code message retryAfterSeconds retryAt }
  }
}"""


@pytest.fixture(scope="module")
async def admin(client: GraphQLClient) -> Any:
    return await register_and_login(client, role="ADMIN")


async def _count(server: Server, account: Any) -> int:
    return int(
        await scalar(
            server,
            "SELECT count(*) FROM assessments WHERE user_id = :u",
            u=uuid_param(server, account.id),
        )
    )


async def _start(client: GraphQLClient, token: str, **input: Any) -> dict[str, Any]:
    return (await client.data(START_FIELDS, {"input": input}, token))["startAssessment"]  # type: ignore[no-any-return]


async def _abandon(server: Server, assessment_id: str) -> None:
    """The student walked away: the draft ran out (what the sweeper writes at expiry)."""
    await update_row(server, Assessment, assessment_id, status="expired")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- published forms only


async def test_students_take_published_forms_as_they_are(
    client: GraphQLClient, server: Server, admin: Any
) -> None:
    form = await publish_form(client, admin.token, SMALL)
    student = await register_and_login(client)

    own = await client.gql(
        START, {"input": {"track": "web", "composition": {**SMALL, "essay": 2}}}, student.token
    )
    [error] = own["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    # The message names the forms a student can take instead.
    assert "default" in error["message"]
    assert form in error["message"]
    assert own["data"] is None

    unknown = await _start(client, student.token, track="web", form="no-such-form")
    assert unknown["assessment"] is None
    [problem] = unknown["errors"]
    assert (problem["code"], problem["field"]) == ("VALIDATION_ERROR", ["input", "form"])
    assert "default" in problem["message"]
    assert form in problem["message"]
    assert await _count(server, student) == 0

    # The form's own composition is no choice at all: accepted, not custom.
    same = await _start(client, student.token, track="web", form=form, composition=SMALL)
    assert same["errors"] == []
    assert same["assessment"]["form"] == form
    assert same["assessment"]["custom"] is False
    assert same["assessment"]["composition"] == SMALL
    plain = await _start(client, student.token, track="data")
    assert (plain["assessment"]["form"], plain["assessment"]["custom"]) == ("default", False)
    assert plain["assessment"]["composition"] == DEFAULT


async def test_advisors_may_not_pick_a_composition_either(client: GraphQLClient) -> None:
    advisor = await register_and_login(client, role="ADVISOR")
    body = await client.gql(START, {"input": {"track": "web", "composition": SMALL}}, advisor.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_admins_custom_assessment_never_becomes_the_latest_profile(
    client: GraphQLClient, admin: Any
) -> None:
    account = await register_and_login(client, role="ADMIN")
    form = await publish_form(client, admin.token, QUICK)
    counted = await start(client, account.token, "web", form=form)
    await answer_all(client, account.token, counted)
    submit = {"input": {"assessmentId": counted["id"]}}
    assert (await client.data(SUBMIT, submit, account.token))["submitAssessment"]["errors"] == []
    await wait_for_status(client, account.token, counted["id"], {"DONE"})

    custom = await start(client, account.token, "data", form=form,
                         composition={**QUICK, "theoretical": 1})  # fmt: skip
    flags = await client.data(CUSTOM, {"id": custom["id"]}, account.token)
    assert flags["assessment"] == {"form": form, "custom": True}
    await answer_all(client, account.token, custom)
    submit = {"input": {"assessmentId": custom["id"]}}
    assert (await client.data(SUBMIT, submit, account.token))["submitAssessment"]["errors"] == []
    await wait_for_status(client, account.token, custom["id"], {"DONE"})

    # The custom assessment finished last, yet the profile shown is the counted one's.
    latest = (await client.data(ME, {}, account.token))["me"]["latestProfile"]
    assert latest["assessmentId"] == counted["id"]


# ---------------------------------------------------------------- retake cooldown


async def test_a_retake_during_the_forms_cooldown_is_refused_and_saves_nothing(
    client: GraphQLClient, server: Server, admin: Any
) -> None:
    form = await publish_form(client, admin.token, DEFAULT, retakeCooldownHours=24)
    student = await register_and_login(client)

    first = await _start(client, student.token, track="web", form=form)
    assert first["errors"] == []
    # While the draft is open, starting again resumes it: no new attempt, no refusal.
    again = await _start(client, student.token, track="web", form=form)
    assert again["reused"] is True
    assert again["assessment"]["id"] == first["assessment"]["id"]

    # An abandoned attempt counts: its questions were shown.
    await _abandon(server, first["assessment"]["id"])
    refused = await _start(client, student.token, track="web", form=form)
    assert refused["assessment"] is None
    [error] = refused["errors"]
    opens = _at(first["assessment"]["createdAt"]) + timedelta(hours=24)
    assert error["code"] == "RATE_LIMITED"
    assert error["field"] == ["input", "form"]
    assert _at(error["retryAt"]) == opens.replace(microsecond=0) or _at(error["retryAt"]) == opens
    assert opens.strftime("%Y-%m-%dT%H:%M:%S") in error["message"]
    assert 0 < error["retryAfterSeconds"] <= 24 * 3600
    assert await _count(server, student) == 1

    # The cooldown belongs to this track and form: another track, or another form, is open.
    other_track = await _start(client, student.token, track="cloud", form=form)
    assert other_track["errors"] == []
    other_form = await _start(client, student.token, track="web")
    assert other_form["errors"] == []

    # Once the cooldown has run (the attempt started 25 h ago), the retake opens.
    await update_row(
        server, Assessment, first["assessment"]["id"],
        created_at=_at(first["assessment"]["createdAt"]) - timedelta(hours=25),
    )  # fmt: skip
    await _abandon(server, other_form["assessment"]["id"])
    retake = await _start(client, student.token, track="web", form=form)
    assert retake["errors"] == []
    assert retake["reused"] is False


async def test_a_submitted_attempt_counts_and_a_custom_one_neither_counts_nor_waits(
    client: GraphQLClient, server: Server, admin: Any
) -> None:
    form = await publish_form(client, admin.token, QUICK, retakeCooldownHours=48)
    account = await register_and_login(client, role="ADMIN")
    attempt = await start(client, account.token, "security", form=form)
    await answer_all(client, account.token, attempt)
    submit = {"input": {"assessmentId": attempt["id"]}}
    assert (await client.data(SUBMIT, submit, account.token))["submitAssessment"]["errors"] == []

    refused = await _start(client, account.token, track="security", form=form)
    assert [e["code"] for e in refused["errors"]] == ["RATE_LIMITED"]

    # An admin's try-out is not a retake: it is not held back ...
    custom = await _start(client, account.token, track="security", form=form, composition=SMALL)
    assert custom["errors"] == []
    assert custom["assessment"]["custom"] is True
    await _abandon(server, custom["assessment"]["id"])
    # ... and does not count: the cooldown still runs from the counted attempt.
    still = (await _start(client, account.token, track="security", form=form))["errors"]
    assert [e["code"] for e in still] == ["RATE_LIMITED"]
    assert _at(still[0]["retryAt"]).replace(microsecond=0) == (
        _at(attempt["createdAt"]) + timedelta(hours=48)
    ).replace(microsecond=0)


async def test_a_forms_cooldown_is_validated(client: GraphQLClient, admin: Any) -> None:
    from tests.support.flows import SET_FORM

    name = await publish_form(client, admin.token, DEFAULT, retakeCooldownHours=5)
    for bad in (-1, 24 * 365 + 1):
        body = await client.data(
            SET_FORM,
            {"input": {"name": name, "composition": SMALL, "retakeCooldownHours": bad}},
            admin.token,
        )
        payload = body["setAssessmentForm"]
        assert payload["form"] is None
        assert [e["field"] for e in payload["errors"]] == [["input", "retakeCooldownHours"]]
    # Left out: unchanged; null: back to the setting.
    kept = await client.data(SET_FORM, {"input": {"name": name, "composition": SMALL}}, admin.token)
    assert kept["setAssessmentForm"]["form"]["retakeCooldownHours"] == 5
    assert kept["setAssessmentForm"]["form"]["composition"] == SMALL
    cleared = await client.data(
        SET_FORM,
        {"input": {"name": name, "composition": SMALL, "retakeCooldownHours": None}},
        admin.token,
    )
    assert cleared["setAssessmentForm"]["form"]["retakeCooldownHours"] is None


@pytest.fixture(scope="module")
async def cooling_server(stack: StackConfig) -> AsyncIterator[Server]:
    """A server with the shipped default cooldown, 24 h (jobs are not needed here)."""
    settings = stack.settings(
        retake_cooldown_hours=24, redis_namespace=f"{stack.namespace}-cooldown"
    )
    running = Server(settings, build_index=False)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_the_setting_is_the_default_cooldown_and_a_form_overrides_it(
    cooling_server: Server,
) -> None:
    client = GraphQLClient(cooling_server.base_url)
    try:
        student = await register_and_login(client)
        first = await _start(client, student.token, track="web")
        assert first["errors"] == []
        await _abandon(cooling_server, first["assessment"]["id"])
        refused = await _start(client, student.token, track="web")
        assert [e["code"] for e in refused["errors"]] == ["RATE_LIMITED"]
        assert _at(refused["errors"][0]["retryAt"]).replace(microsecond=0) == (
            _at(first["assessment"]["createdAt"]) + timedelta(hours=24)
        ).replace(microsecond=0)

        admin = await register_and_login(client, role="ADMIN")
        open_form = await publish_form(client, admin.token, DEFAULT, retakeCooldownHours=0)
        for _ in range(2):
            body = await _start(client, student.token, track="data", form=open_form)
            assert body["errors"] == []
            assert body["reused"] is False
            await _abandon(cooling_server, body["assessment"]["id"])
    finally:
        await client.aclose()


# ---------------------------------------------------------------- no repeated question


async def _eligible_pool(server: Server, track: str) -> dict[tuple[str, str], set[str]]:
    """Active scored questions of the track (its own and general ones) by (domain, type)."""
    pool: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in await rows(server, "SELECT id, type, domain, tracks_json, active FROM questions"):
        tracks = row["tracks_json"]
        tracks = json.loads(tracks) if isinstance(tracks, str) else tracks
        if row["active"] and row["type"] != "profile" and ({track, "general"} & set(tracks)):
            pool[(row["domain"], row["type"])].add(str(row["id"]))
    return pool


async def _bank_ids(server: Server, assessment_id: str) -> list[tuple[str, str, str]]:
    found = await rows(
        server,
        "SELECT question_id, domain, type FROM assessment_questions WHERE assessment_id = :a",
        a=uuid_param(server, assessment_id),
    )
    return [(str(r["question_id"]), r["domain"], r["type"]) for r in found]


async def test_no_question_repeats_until_the_pool_is_used_up_then_least_recent_first(
    client: GraphQLClient, server: Server
) -> None:
    """Six attempts at security: its essays (3 per domain in the shipped bank, one per
    attempt in a core domain) run out after three, so repeats are seen, and each must be the
    least recently seen of its (domain, type)."""
    pool = await _eligible_pool(server, "security")
    student = await register_and_login(client)
    last_seen: dict[str, int] = {}
    repeats = 0
    for attempt in range(6):
        assessment = await start(client, student.token, "security")
        picked: dict[tuple[str, str], set[str]] = defaultdict(set)
        for question_id, domain, type_ in await _bank_ids(server, assessment["id"]):
            if type_ != "profile":
                picked[(domain, type_)].add(question_id)
        for key, chosen in picked.items():
            unseen = pool[key] - set(last_seen)
            if len(unseen) >= len(chosen):
                assert chosen <= unseen, (attempt, key)
                continue
            # Exhausted: every unseen item is taken, and the repeats are the least recently
            # seen (none of them seen after an item left out).
            assert unseen <= chosen, (attempt, key)
            again = chosen - unseen
            left_out = pool[key] - chosen
            repeats += len(again)
            if left_out:
                assert max(last_seen[q] for q in again) <= min(last_seen[q] for q in left_out)
        for chosen in picked.values():
            for question_id in chosen:
                last_seen[question_id] = attempt
        await _abandon(server, assessment["id"])
    assert repeats > 0  # the bank's essays did run out, so the second half was exercised
