"""Advisors and account administration: assignments, the students an advisor may see (and
the audit trail their reads leave), roles, and the audit trail itself."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from db.tables import Score
from domain import ids
from domain.profile import Band, ItemScore, Level, SkillProfile, build_profile
from tests.support.client import Account, GraphQLClient, register_and_login
from tests.support.db import rows, uuid_param
from tests.support.pipeline import RESULT, completed
from tests.support.stacks import Server

ASSIGN = """mutation Assign($s: ID!, $a: ID!) {
  assignAdvisor(studentId: $s, advisorId: $a) { ok errors { field code } } }"""
STUDENTS = """query Students($search: String, $weakIn: String, $band: ScoreBand, $after: String,
                             $first: Int) {
  students(search: $search, weakIn: $weakIn, band: $band, after: $after, first: $first) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id email name advisor { id }
                   latestProfile { band bandProvisional improvements } } }
  }
}"""
USER = """query User($id: ID!) { user(id: $id) { id email
  assessments { totalCount edges { node { id result { profile { band } } } } } } }"""
ROLE = """mutation Role($id: ID!, $role: Role!) {
  setUserRole(userId: $id, role: $role) { ok errors { field code } } }"""
AUDIT = """query Audit($actor: String, $action: String, $first: Int, $after: String) {
  auditEvents(actor: $actor, action: $action, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id actor action resource meta createdAt } }
  }
}"""
LATEST = """query Latest($search: String) { students(search: $search, first: 50) {
  edges { node { email latestProfile { band bandProvisional improvements } } } } }"""
ME = "{ me { id role } }"


async def assign(client: GraphQLClient, admin: Account, student: str, advisor: str) -> Any:
    return (await client.data(ASSIGN, {"s": student, "a": advisor}, admin.token))["assignAdvisor"]


def emails(connection: dict[str, Any]) -> set[str]:
    return {edge["node"]["email"] for edge in connection["edges"]}


async def test_admins_assign_advisors_to_students_only(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    other = await register_and_login(client, role="ADVISOR")
    student = await register_and_login(client)
    assert (await assign(client, admin, student.id, advisor.id))["ok"] is True
    assert (await assign(client, admin, student.id, other.id))["ok"] is True  # replaces
    [row] = await rows(server, "SELECT advisor_id FROM advisor_assignments WHERE student_id = :s",
                       s=uuid_param(server, student.id))  # fmt: skip
    assert str(row["advisor_id"]).replace("-", "") == str(uuid_param(server, other.id)).replace(
        "-", ""
    )
    [event, *_] = await rows(
        server, "SELECT actor, meta_json, request_id FROM audit_events "
        "WHERE action = 'advisor.assign' AND subject_id = :s ORDER BY created_at DESC",
        s=uuid_param(server, student.id),
    )  # fmt: skip
    assert event["actor"] == admin.id
    assert event["request_id"]

    refused = await assign(client, admin, advisor.id, other.id)
    assert refused["errors"] == [{"field": ["studentId"], "code": "VALIDATION_ERROR"}]
    refused = await assign(client, admin, student.id, student.id)
    assert refused["errors"] == [{"field": ["advisorId"], "code": "VALIDATION_ERROR"}]
    ghost = "usr_" + uuid.uuid4().hex
    refused = await assign(client, admin, ghost, advisor.id)
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    for caller in (student, advisor):
        denied = await client.gql(ASSIGN, {"s": student.id, "a": advisor.id}, caller.token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_advisor_sees_their_students_and_each_read_is_audited(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    mine = await register_and_login(client, name="Ada Mine")
    theirs = await register_and_login(client, name="Bob Theirs")
    await assign(client, admin, mine.id, advisor.id)
    assessment = await completed(client, mine.token)

    listed = (await client.data(STUDENTS, {}, advisor.token))["students"]
    assert emails(listed) == {mine.email}
    node = listed["edges"][0]["node"]
    assert node["advisor"] == {"id": advisor.id}
    assert node["latestProfile"]["band"] in ("BEGINNER", "INTERMEDIATE", "ADVANCED")

    seen = (await client.data(USER, {"id": mine.id}, advisor.token))["user"]
    assert seen["email"] == mine.email
    assert seen["assessments"]["edges"][0]["node"]["id"] == assessment["id"]
    assert seen["assessments"]["edges"][0]["node"]["result"]["profile"]["band"]
    assert (await client.data(USER, {"id": theirs.id}, advisor.token))["user"] is None
    result = await client.gql(RESULT, {"id": assessment["id"]}, advisor.token)
    assert result["data"]["result"]["profile"]["band"]

    reads = await rows(
        server, "SELECT actor, resource, request_id FROM audit_events "
        "WHERE action = 'advisor.read' AND subject_id = :s",
        s=uuid_param(server, mine.id),
    )  # fmt: skip
    assert {r["actor"] for r in reads} == {advisor.id}
    assert {mine.id, assessment["id"]} <= {r["resource"] for r in reads}
    assert all(r["request_id"] for r in reads)
    unread = await rows(server, "SELECT id FROM audit_events WHERE action = 'advisor.read' "
                                "AND subject_id = :s", s=uuid_param(server, theirs.id))  # fmt: skip
    assert unread == []

    everyone = await client.data(STUDENTS, {"search": "theirs", "first": 100}, admin.token)
    assert theirs.email in emails(everyone["students"])
    student_view = await client.gql(STUDENTS, {}, mine.token)
    assert student_view["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    user_view = await client.gql(USER, {"id": mine.id}, mine.token)
    assert user_view["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_students_can_be_found_by_search_band_and_weak_domain(
    client: GraphQLClient,
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    tag = uuid.uuid4().hex[:8]
    done = await register_and_login(client, name=f"Weak {tag}")
    fresh = await register_and_login(client, name=f"Fresh {tag}_%")
    for student in (done, fresh):
        await assign(client, admin, student.id, advisor.id)
    await completed(client, done.token)
    profile = (await client.data(STUDENTS, {"search": tag}, advisor.token))["students"]
    by_email = {e["node"]["email"]: e["node"] for e in profile["edges"]}
    assert set(by_email) == {done.email, fresh.email}
    assert by_email[fresh.email]["latestProfile"] is None
    latest = by_email[done.email]["latestProfile"]

    # LIKE wildcards in a search are taken literally.
    literal = (await client.data(STUDENTS, {"search": f"{tag}_%"}, advisor.token))["students"]
    assert emails(literal) == {fresh.email}
    # The filters skip a provisional profile (the default form's six items mostly give LOW
    # confidence); test_provisional_bands_... pins both cases with profiles of its own.
    matching = set() if latest["bandProvisional"] else {done.email}
    band = (await client.data(STUDENTS, {"band": latest["band"]}, advisor.token))["students"]
    assert emails(band) == matching
    if latest["improvements"]:
        weak = latest["improvements"][0]
        found = await client.data(STUDENTS, {"weakIn": weak.upper()}, advisor.token)
        assert emails(found["students"]) == matching
    strong = {"programming", "algorithms", "databases", "networking", "security", "web",
              "cloud-devops", "data-ml"} - set(latest["improvements"])  # fmt: skip
    nobody = await client.data(STUDENTS, {"weakIn": sorted(strong)[0]}, advisor.token)
    assert emails(nobody["students"]) == set()


async def test_pages_of_students(client: GraphQLClient) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    students = [await register_and_login(client) for _ in range(3)]
    for student in students:
        await assign(client, admin, student.id, advisor.id)
    first = (await client.data(STUDENTS, {"first": 2}, advisor.token))["students"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await client.data(STUDENTS, {"first": 2, "after": first["pageInfo"]["endCursor"]},
                             advisor.token)  # fmt: skip
    assert emails(first) | emails(rest["students"]) == {s.email for s in students}
    assert rest["students"]["pageInfo"]["hasNextPage"] is False


async def test_roles_change_at_once_and_drop_assignments_they_cannot_hold(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    student = await register_and_login(client)
    await assign(client, admin, student.id, advisor.id)
    changed = await client.data(ROLE, {"id": student.id, "role": "ADVISOR"}, admin.token)
    assert changed["setUserRole"]["ok"] is True
    me = (await client.data(ME, token=student.token))["me"]  # the same access token
    assert me["role"] == "ADVISOR"
    assert not await rows(server, "SELECT * FROM advisor_assignments WHERE student_id = :s",
                          s=uuid_param(server, student.id))  # fmt: skip
    demoted = await client.data(ROLE, {"id": admin.id, "role": "STUDENT"}, admin.token)
    assert demoted["setUserRole"]["errors"] == [{"field": ["userId"], "code": "VALIDATION_ERROR"}]
    denied = await client.gql(ROLE, {"id": admin.id, "role": "STUDENT"}, advisor.token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    [event] = await rows(server, "SELECT actor, meta_json FROM audit_events WHERE "
                                 "action = 'user.role' AND subject_id = :s",
                         s=uuid_param(server, student.id))  # fmt: skip
    assert event["actor"] == admin.id
    meta = event["meta_json"]
    if isinstance(meta, str):
        import json

        meta = json.loads(meta)
    assert meta == {"from": "student", "to": "advisor", "assignmentsRemoved": 1}


async def test_the_audit_trail_filters_and_pages(client: GraphQLClient) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    students = [await register_and_login(client) for _ in range(3)]
    for student in students:
        await assign(client, admin, student.id, advisor.id)
    assigned = {"actor": admin.id, "action": "advisor.assign"}
    events = (await client.data(AUDIT, {**assigned, "first": 2}, admin.token))["auditEvents"]
    assert events["totalCount"] == 3
    assert [e["node"]["action"] for e in events["edges"]] == ["advisor.assign"] * 2
    assert events["edges"][0]["node"]["resource"] == students[-1].id  # newest first
    assert events["edges"][0]["node"]["meta"]["advisor"] == advisor.id
    after = events["pageInfo"]["endCursor"]
    rest = await client.data(AUDIT, {**assigned, "after": after}, admin.token)
    assert [e["node"]["resource"] for e in rest["auditEvents"]["edges"]] == [students[0].id]
    prefixed = await client.data(AUDIT, {"actor": admin.id, "action": "advisor.*"}, admin.token)
    assert prefixed["auditEvents"]["totalCount"] == 3
    everything = await client.data(AUDIT, {"actor": admin.id}, admin.token)
    actions = {e["node"]["action"] for e in everything["auditEvents"]["edges"]}
    assert {"auth.register", "auth.login", "advisor.assign"} <= actions
    none = await client.data(AUDIT, {"actor": admin.id, "action": "advisor"}, admin.token)
    assert none["auditEvents"]["totalCount"] == 0
    logins = await client.data(AUDIT, {"actor": advisor.id, "action": "auth.*"}, admin.token)
    assert logins["auditEvents"]["totalCount"] >= 1
    denied = await client.gql(AUDIT, {}, advisor.token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def readme_advisor_queries() -> dict[str, str]:
    """The GraphQL blocks of the README's "For advisors" section, by operation name."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("### For advisors") :]
    section = section[: section.index("\n## ")]
    blocks = section.split("```graphql\n")[1:]
    queries = [block[: block.index("```")] for block in blocks]
    return {query.split()[1].split("(")[0]: query for query in queries}


async def test_the_readme_queries_for_advisors_run_as_written(client: GraphQLClient) -> None:
    queries = readme_advisor_queries()
    assert set(queries) == {"MyStudents", "ProfileHistory", "WeakIn"}
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    student = await register_and_login(client, name="Grace Readme")
    await assign(client, admin, student.id, advisor.id)
    assessment = await completed(client, student.token)

    mine = (await client.data(queries["MyStudents"], {}, advisor.token))["students"]
    [node] = [edge["node"] for edge in mine["edges"]]
    assert node["id"] == student.id
    latest = node["latestProfile"]
    assert latest["band"]
    assert latest["confidence"]["interval"]

    history = await client.data(queries["ProfileHistory"], {"id": student.id}, advisor.token)
    [done] = [edge["node"] for edge in history["user"]["assessments"]["edges"]]
    assert done["id"] == assessment["id"]
    assert done["status"] == "DONE"
    assert done["result"]["profile"]["band"] == latest["band"]
    assert done["result"]["recommendations"]["items"]

    weak = latest["improvements"][0] if latest["improvements"] else "networking"
    found = await client.data(queries["WeakIn"], {"domain": weak}, advisor.token)
    expected = 1 if latest["improvements"] and not latest["bandProvisional"] else 0
    assert found["students"]["totalCount"] == expected


async def _store_profile(server: Server, assessment_id: str, profile: SkillProfile) -> None:
    """Replace a DONE assessment's stored profile, so the test decides its confidence."""
    key = ids.decode(ids.Kind.ASSESSMENT, assessment_id)
    async with server.services.db.engine.begin() as connection:
        await connection.execute(
            sa.update(Score)
            .where(col(Score.assessment_id) == key)
            .values(profile_json=profile.as_dict())
        )


def _items(domain: str, right: int, wrong: int) -> list[ItemScore]:
    return [
        ItemScore(f"{domain}-{n}", "theory", domain, 1.0 if n < right else 0.0)
        for n in range(right + wrong)
    ]


async def test_provisional_bands_show_as_such_and_the_filters_skip_them(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    tag = uuid.uuid4().hex[:8]
    student = await register_and_login(client, name=f"Firm {tag}")
    guess = await register_and_login(client, name=f"Guess {tag}")
    for account in (student, guess):
        await assign(client, admin, account.id, advisor.id)
    # Twelve items, weak in networking: ADVANCED at MEDIUM confidence, a band to act on.
    firm = build_profile(_items("programming", 10, 0) + _items("networking", 0, 2), [])
    # One item answered wrong: BEGINNER on no evidence (LOW), weak in databases.
    provisional = build_profile(_items("databases", 0, 1), [])
    assert (firm.band, firm.confidence.level, firm.improvements) == (
        Band.ADVANCED, Level.MEDIUM, ("networking",))  # fmt: skip
    assert (provisional.band, provisional.confidence.level) == (Band.BEGINNER, Level.LOW)
    older = await completed(client, student.token)
    newer = await completed(client, student.token)
    only = await completed(client, guess.token)
    await _store_profile(server, older["id"], firm)
    await _store_profile(server, newer["id"], provisional)
    await _store_profile(server, only["id"], provisional)

    query = """query P($id: ID!) { profile(assessmentId: $id) { band bandProvisional } }"""
    for assessment, band, flag in ((older, "ADVANCED", False), (newer, "BEGINNER", True)):
        shown = await client.data(query, {"id": assessment["id"]}, advisor.token)
        assert shown["profile"] == {"band": band, "bandProvisional": flag}
    listed = await client.data(LATEST, {"search": tag}, advisor.token)
    latest = {e["node"]["email"]: e["node"]["latestProfile"] for e in listed["students"]["edges"]}
    # latestProfile is the newest, provisional or not: it says so rather than hide it.
    assert latest == {
        student.email: {"band": "BEGINNER", "bandProvisional": True, "improvements": ["databases"]},
        guess.email: {"band": "BEGINNER", "bandProvisional": True, "improvements": ["databases"]},
    }

    async def found(**filters: str) -> set[str]:
        body = await client.data(STUDENTS, {"search": tag, **filters}, advisor.token)
        return emails(body["students"])

    # The filters read the latest profile that is not provisional: the older, firm one.
    assert await found(band="ADVANCED") == {student.email}
    assert await found(band="BEGINNER") == set()
    assert await found(weakIn="networking") == {student.email}
    assert await found(weakIn="databases") == set()
    # Without a firm profile a student matches no band at all.
    assert guess.email not in await found(band="INTERMEDIATE")
