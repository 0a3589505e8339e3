"""Access control across the whole schema, against the table in README.md.

Every query, mutation and subscription is called as six people: anonymous, the student who
owns the data, another student, the owner's advisor, an advisor of other students, and an
admin. The outcome of each call (ok, null, or an error code, from the GraphQL error or the
payload's errors) must be what the README's "Access control" table says. Every root field of
the served schema must have at least one row, so a new operation cannot go unreviewed.

`WRITE_ACCESS_TABLE=path pytest tests/api/test_access_control.py` writes the observed table
to `path` instead of comparing, for review when operations change.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from schema import schema as served_schema
from tests.support.client import PASSWORD, Account, GraphQLClient, register_and_login
from tests.support.flows import SUBMIT, answer_all, start
from tests.support.pipeline import RESULT, wait_for_status
from tests.support.stacks import Server
from tests.support.ws import connect

README = Path(__file__).resolve().parents[2] / "README.md"
PERSONAS = ("anonymous", "owner", "other student", "advisor", "other advisor", "admin")
ROLE_OF = {"owner": "STUDENT", "other student": "STUDENT", "advisor": "ADVISOR",
           "other advisor": "ADVISOR", "admin": "ADMIN"}  # fmt: skip


@dataclass
class World:
    client: GraphQLClient
    server: Server
    people: dict[str, Account]
    done: str = ""  # the owner's DONE assessment
    draft: str = ""  # the owner's open draft
    draft_question: str = ""
    job: str = ""
    item: str = ""  # a recommendation item of the DONE assessment
    question: str = ""  # a bank question
    credential: str = ""
    webhook: str = ""
    owner_user: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, persona: str) -> str | None:
        return self.people[persona].token if persona in self.people else None


Variables = Callable[[World, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Op:
    label: str
    document: str
    variables: Variables
    fresh_account: bool = False  # the call acts on the caller's own account: use a new one


async def none(world: World, persona: str) -> dict[str, Any]:
    return {}


def given(**values: str) -> Variables:
    async def build(world: World, persona: str) -> dict[str, Any]:
        return {name: getattr(world, attribute) for name, attribute in values.items()}

    return build


async def _new_student(world: World) -> Account:
    return await register_and_login(world.client)


async def fresh_user(world: World, persona: str) -> dict[str, Any]:
    return {"id": (await _new_student(world)).id}


async def fresh_role_target(world: World, persona: str) -> dict[str, Any]:
    return {"id": (await _new_student(world)).id, "role": "ADVISOR"}


async def unanswered_draft(world: World, persona: str) -> dict[str, Any]:
    """A draft of the owner's with nothing answered: submitting it is refused as INCOMPLETE,
    so the owner's call shows access was granted without submitting anything."""
    draft = await start(world.client, world.people["owner"].token, "security")
    return {"id": draft["id"]}


async def override_input(world: World, persona: str) -> dict[str, Any]:
    """An override of the newest essay score of the owner's DONE assessment (a re-score in an
    earlier row may still be running) with the score the machine gave: access is what is
    tested, and the owner's profile stays as it was."""
    import asyncio

    from domain import ids
    from tests.support.db import rows, scalar, uuid_param

    for _ in range(600):  # a re-score of an earlier row adds newer scores when it finishes
        running = await scalar(
            world.server, "SELECT count(*) FROM jobs WHERE assessment_id = :a AND type = "
            "'rescore' AND status IN ('queued', 'processing')", a=uuid_param(world.server,
                                                                             world.done),
        )  # fmt: skip
        if not running:
            break
        await asyncio.sleep(0.1)
    [newest, *_] = await rows(
        world.server, "SELECT id, score FROM essay_scores WHERE assessment_id = :a "
        "ORDER BY id DESC", a=uuid_param(world.server, world.done),
    )  # fmt: skip
    essay_score_id = ids.encode(ids.Kind.ESSAY_SCORE, uuid.UUID(str(newest["id"])))
    return {"input": {"essayScoreId": essay_score_id, "score": float(newest["score"]),
                      "reason": "Access-control check."}}  # fmt: skip


async def own_refresh_token(world: World, persona: str) -> dict[str, Any]:
    account = world.extra.get(f"fresh:{persona}")
    return {"token": account.refresh_token if account else "not-a-token"}


async def own_password(world: World, persona: str) -> dict[str, Any]:
    return {"p": PASSWORD}


async def webhook_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"url": f"https://hooks.example.edu/{uuid.uuid4().hex}",
                      "events": ["ASSESSMENT_COMPLETED"]}}  # fmt: skip


async def fresh_webhook(world: World, persona: str) -> dict[str, Any]:
    admin = world.people["admin"]
    body = await world.client.data(
        "mutation W($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) "
        "{ endpoint { id } } }", await webhook_input(world, persona), admin.token,
    )  # fmt: skip
    return {"id": body["createWebhookEndpoint"]["endpoint"]["id"]}


async def credential_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"slug": f"acl-{uuid.uuid4().hex[:10]}", "title": "Access test",
                      "active": False}}  # fmt: skip


async def question_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"type": "PROFILE", "prompt": "How much do you enjoy access tests?",
                      "domain": "security", "tracks": [f"acl{uuid.uuid4().hex[:6]}"],
                      "interestArea": "security"}}  # fmt: skip


async def question_update(world: World, persona: str) -> dict[str, Any]:
    return {"id": world.question, **(await question_input(world, persona))}


async def form_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"name": "acl-form",
                      "composition": {"theoretical": 1, "essay": 0, "profile": 0}}}  # fmt: skip


async def register_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"email": f"acl-{uuid.uuid4().hex[:10]}@example.edu",
                      "password": PASSWORD}}  # fmt: skip


async def login_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"email": world.people["other student"].email, "password": PASSWORD}}


async def answer_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"assessmentId": world.draft, "questionId": world.draft_question,
                      "answer": "A"}}  # fmt: skip


async def save_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"assessmentId": world.draft, "isFinalChunk": False, "responses": [
        {"questionId": world.draft_question, "answer": "A"}]}}  # fmt: skip


async def feedback_input(world: World, persona: str) -> dict[str, Any]:
    return {"input": {"recommendationId": world.item, "accepted": True}}


async def assign_input(world: World, persona: str) -> dict[str, Any]:
    return {"s": world.people["owner"].id, "a": world.people["advisor"].id}


async def track_input(world: World, persona: str) -> dict[str, Any]:
    # A track of this test's own: the shipped blueprints stay as they are for other tests.
    return {"input": {"name": "acl-pilot", "title": "Pilot", "domains": [
        {"domain": "web", "weight": 2}, {"domain": "security", "weight": 1}]}}  # fmt: skip


def node(label: str, attribute: str) -> Op:
    return Op(f"query node ({label})", "query N($id: ID!) { node(id: $id) { id } }",
              given(id=attribute))  # fmt: skip


async def owner_id(world: World, persona: str) -> dict[str, Any]:
    return {"id": world.people["owner"].id}


PAYLOAD = "errors { code }"
OPS: list[Op] = [
    node("the owner's account", "owner_user"),
    node("an assessment", "done"),
    node("an assessment question", "draft_question"),
    node("a job", "job"),
    node("a recommendation", "item"),
    node("a bank question", "question"),
    node("a credential", "credential"),
    node("a webhook endpoint", "webhook"),
    Op("query me", "{ me { id } }", none),
    Op("query assessment", "query A($id: ID!) { assessment(id: $id) { id owner { email } } }",
       given(id="done")),
    Op("query myAssessments", "{ myAssessments { totalCount } }", none),
    Op("query nextQuestion", "query Q($id: ID!) { nextQuestion(assessmentId: $id) { id } }",
       given(id="draft")),
    Op("query assessmentStatus",
       "query S($id: ID!) { assessmentStatus(assessmentId: $id) { status } }", given(id="done")),
    Op("query result", "query R($id: ID!) { result(assessmentId: $id) { degraded } }",
       given(id="done")),
    Op("query scores", "query R($id: ID!) { scores(assessmentId: $id) { theoretical { total } } }",
       given(id="done")),
    Op("query profile", "query R($id: ID!) { profile(assessmentId: $id) { band } }",
       given(id="done")),
    Op("query recommendations",
       "query R($id: ID!) { recommendations(assessmentId: $id) { summary } }", given(id="done")),
    Op("query students", "{ students { totalCount } }", none),
    Op("query user", "query U($id: ID!) { user(id: $id) { email } }", owner_id),
    Op("query reviewQueue", "{ reviewQueue { totalCount } }", none),
    Op("query questions", "{ questions(first: 1) { totalCount } }", none),
    Op("query assessmentForm", "{ assessmentForm { name } }", none),
    Op("query credentials", "{ credentials(first: 1) { totalCount } }", none),
    Op("query ragIndexStats", "{ ragIndexStats { state } }", none),
    Op("query analytics", "{ analytics { assessmentsCompleted } }", none),
    Op("query webhookEndpoints", "{ webhookEndpoints { id } }", none),
    Op("query auditEvents", "{ auditEvents(first: 1) { totalCount } }", none),
    Op("query questionStats", "{ questionStats(first: 1) { totalCount } }", none),
    Op("query tracks", "{ tracks { name domains { domain weight } } }", none),
    Op("query health", "{ health { api } }", none),
    Op("mutation register", f"mutation M($input: RegisterInput!) {{ register(input: $input) "
       f"{{ user {{ id }} {PAYLOAD} }} }}", register_input),
    Op("mutation login", f"mutation M($input: LoginInput!) {{ login(input: $input) "
       f"{{ accessToken {PAYLOAD} }} }}", login_input),
    Op("mutation refreshToken", f"mutation M($token: String!) {{ refreshToken(refreshToken: "
       f"$token) {{ accessToken {PAYLOAD} }} }}", own_refresh_token, fresh_account=True),
    Op("mutation logout", f"mutation M($token: String!) {{ logout(refreshToken: $token) "
       f"{{ ok {PAYLOAD} }} }}", own_refresh_token, fresh_account=True),
    Op("mutation updateMe", f"mutation {{ updateMe(input: {{name: \"Renamed\"}}) "
       f"{{ user {{ id }} {PAYLOAD} }} }}", none),
    Op("mutation startAssessment", f"mutation {{ startAssessment(input: {{track: \"general\"}}) "
       f"{{ assessment {{ id }} {PAYLOAD} }} }}", none),
    Op("mutation startAssessment (a composition that is not the form's)",
       f"mutation {{ startAssessment(input: {{track: \"data\", composition: {{theoretical: 1, "
       f"essay: 0, profile: 0}}}}) {{ assessment {{ id custom }} {PAYLOAD} }} }}", none),
    Op("mutation answerQuestion", f"mutation M($input: AnswerInput!) {{ answerQuestion(input: "
       f"$input) {{ assessment {{ id }} {PAYLOAD} }} }}", answer_input),
    Op("mutation saveResponses", f"mutation M($input: SaveResponsesInput!) {{ saveResponses("
       f"input: $input) {{ saved {PAYLOAD} }} }}", save_input),
    Op("mutation submitAssessment (an unanswered draft)",
       f"mutation M($id: ID!) {{ submitAssessment(input: {{assessmentId: $id}}) "
       f"{{ job {{ id }} {PAYLOAD} }} }}", unanswered_draft),
    Op("mutation recordRecommendationFeedback", f"mutation M($input: "
       f"RecommendationFeedbackInput!) {{ recordRecommendationFeedback(input: $input) "
       f"{{ recommendation {{ id }} {PAYLOAD} }} }}", feedback_input),
    Op("mutation exportMyData", f"mutation {{ exportMyData {{ data {PAYLOAD} }} }}", none),
    Op("mutation deleteMyAccount", f"mutation M($p: String!) {{ deleteMyAccount(password: $p) "
       f"{{ ok {PAYLOAD} }} }}", own_password, fresh_account=True),
    Op("mutation createQuestion", f"mutation M($input: QuestionInput!) {{ createQuestion(input: "
       f"$input) {{ question {{ id }} {PAYLOAD} }} }}", question_input),
    Op("mutation updateQuestion (an unused bank question)", f"mutation M($id: ID!, $input: "
       f"QuestionInput!) {{ updateQuestion(id: $id, input: $input) {{ question {{ id }} "
       f"{PAYLOAD} }} }}", question_update),
    Op("mutation setQuestionActive", f"mutation M($id: ID!) {{ setQuestionActive(id: $id, "
       f"active: true) {{ question {{ id }} {PAYLOAD} }} }}", given(id="question")),
    Op("mutation setAssessmentForm", f"mutation M($input: AssessmentFormInput!) {{ "
       f"setAssessmentForm(input: $input) {{ form {{ name }} {PAYLOAD} }} }}", form_input),
    Op("mutation upsertCredential", f"mutation M($input: CredentialInput!) {{ upsertCredential("
       f"input: $input) {{ credential {{ id }} {PAYLOAD} }} }}", credential_input),
    Op("mutation upsertTrack", f"mutation M($input: TrackInput!) {{ upsertTrack(input: $input) "
       f"{{ track {{ name }} {PAYLOAD} }} }}", track_input),
    Op("mutation setCredentialActive", f"mutation M($id: ID!) {{ setCredentialActive(id: $id, "
       f"active: true) {{ credential {{ id }} {PAYLOAD} }} }}", given(id="credential")),
    Op("mutation rebuildRagIndex", f"mutation {{ rebuildRagIndex {{ status {PAYLOAD} }} }}", none),
    Op("mutation createWebhookEndpoint", f"mutation M($input: WebhookEndpointInput!) {{ "
       f"createWebhookEndpoint(input: $input) {{ secret {PAYLOAD} }} }}", webhook_input),
    Op("mutation deleteWebhookEndpoint", f"mutation M($id: ID!) {{ deleteWebhookEndpoint(id: "
       f"$id) {{ ok {PAYLOAD} }} }}", fresh_webhook),
    Op("mutation assignAdvisor", f"mutation M($s: ID!, $a: ID!) {{ assignAdvisor(studentId: "
       f"$s, advisorId: $a) {{ ok {PAYLOAD} }} }}", assign_input),
    Op("mutation setUserRole (another user)", f"mutation M($id: ID!, $role: Role!) {{ "
       f"setUserRole(userId: $id, role: $role) {{ ok {PAYLOAD} }} }}", fresh_role_target),
    Op("mutation deleteUser (another user)", f"mutation M($id: ID!) {{ deleteUser(userId: $id) "
       f"{{ ok {PAYLOAD} }} }}", fresh_user),
    Op("mutation retryAssessment (a DONE assessment)", f"mutation M($id: ID!) {{ "
       f"retryAssessment(assessmentId: $id) {{ job {{ id }} {PAYLOAD} }} }}", given(id="done")),
    Op("mutation rescoreEssays", f"mutation M($id: ID!) {{ rescoreEssays(assessmentId: $id) "
       f"{{ job {{ id }} {PAYLOAD} }} }}", given(id="done")),
    Op("mutation overrideEssayScore (the machine's own score)", f"mutation M($input: "
       f"OverrideEssayScoreInput!) {{ overrideEssayScore(input: $input) {{ override {{ id }} "
       f"{PAYLOAD} }} }}", override_input),
    Op("subscription assessmentProgress", "subscription S($id: ID!) { assessmentProgress("
       "assessmentId: $id) { status } }", given(id="done")),
    Op("subscription ragIndexProgress", "subscription { ragIndexProgress { state } }", none),
]  # fmt: skip


def root_field(document: str) -> tuple[str, str]:
    """(operation type, first root field) of a document."""
    kind = "query"
    match = re.match(r"\s*(query|mutation|subscription)\b", document)
    if match:
        kind = match.group(1)
    body = document[document.index("{") + 1 :]
    name = re.match(r"\s*(\w+)", body)
    assert name is not None, document
    return kind, name.group(1)


def outcome_of(response: dict[str, Any], name: str) -> str:
    errors = response.get("errors")
    if errors:
        return str(errors[0].get("extensions", {}).get("code", "ERROR"))
    value = (response.get("data") or {}).get(name)
    if value is None:
        return "null"
    if isinstance(value, dict) and value.get("errors"):
        return str(value["errors"][0]["code"])
    return "ok"


async def call(world: World, op: Op, persona: str) -> str:
    account = world.people.get(persona)
    if op.fresh_account and persona != "anonymous":
        account = await register_and_login(world.client, role=ROLE_OF[persona])
        world.extra[f"fresh:{persona}"] = account
    variables = await op.variables(world, persona)
    token = account.token if account else None
    kind, name = root_field(op.document)
    if kind == "subscription":
        try:
            async with connect(world.server.ws_url, token) as subscription:
                # The first event decides access; ragIndexProgress as admin would otherwise
                # stream until a rebuild queued by an earlier row finishes.
                events = await subscription.events(op.document, variables, timeout=20, limit=1)
        except ConnectionClosed as closed:  # refused at connection_init, before any operation
            return f"closed {closed.rcvd.code if closed.rcvd else '?'}"
        last = events[-1] if events else {}
        if "errors" in last:
            return str(last["errors"][0].get("extensions", {}).get("code", "ERROR"))
        return "ok" if events else "null"
    return outcome_of(await world.client.gql(op.document, variables, token), name)


@pytest.fixture(scope="module")
async def world(client: GraphQLClient, server: Server) -> AsyncIterator[World]:
    people = {p: await register_and_login(client, role=r) for p, r in ROLE_OF.items()}
    admin, owner = people["admin"], people["owner"]
    await client.data("mutation A($s: ID!, $a: ID!) { assignAdvisor(studentId: $s, "
                      "advisorId: $a) { ok } }", {"s": owner.id, "a": people["advisor"].id},
                      admin.token)  # fmt: skip
    done = await start(client, owner.token, "data")
    await answer_all(client, owner.token, done)
    submitted = await client.data(SUBMIT, {"input": {"assessmentId": done["id"]}}, owner.token)
    await wait_for_status(client, owner.token, done["id"], {"DONE"})
    result = (await client.data(RESULT, {"id": done["id"]}, owner.token))["result"]
    draft = await start(client, owner.token, "web")
    # A question of a track nobody uses: updating it changes no one's assessment.
    created = await client.data(
        "mutation M($input: QuestionInput!) { createQuestion(input: $input) { question { id } } }",
        await question_input(World(client, server, people), "admin"), admin.token,
    )  # fmt: skip
    credentials = await client.data("{ credentials(first: 1) { edges { node { id } } } }",
                                    token=admin.token)  # fmt: skip
    endpoint = await fresh_webhook(World(client, server, people), "admin")
    world = World(
        client, server, people, done=done["id"], draft=draft["id"],
        draft_question=draft["questions"][0]["id"],
        job=submitted["submitAssessment"]["job"]["id"],
        item=result["recommendations"]["items"][0]["id"],
        question=created["createQuestion"]["question"]["id"],
        credential=credentials["credentials"]["edges"][0]["node"]["id"],
        webhook=endpoint["id"],
    )  # fmt: skip
    world.owner_user = owner.id
    yield world
    # Endpoints at hooks.example.edu never answer: left active, every later test's
    # completed assessment would queue deliveries (and retries) to them.
    endpoints = await client.data("{ webhookEndpoints { id url } }", token=admin.token)
    for endpoint in endpoints["webhookEndpoints"]:
        if "hooks.example.edu" in endpoint["url"]:
            await client.data(
                "mutation D($id: ID!) { deleteWebhookEndpoint(id: $id) { ok } }",
                {"id": endpoint["id"]}, admin.token,
            )  # fmt: skip


def readme_table() -> dict[str, dict[str, str]]:
    """Rows of the README's access-control table: operation label -> persona -> outcome."""
    text = README.read_text()
    section = text[text.index("## Access control") :]
    rows: dict[str, dict[str, str]] = {}
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(PERSONAS) + 1 or not cells[0].startswith("`"):
            continue
        rows[cells[0].strip("`")] = dict(zip(PERSONAS, cells[1:], strict=True))
    return rows


def write_table(path: Path, observed: dict[str, dict[str, str]]) -> None:
    lines = ["| Operation | " + " | ".join(p.capitalize() for p in PERSONAS) + " |",
             "|---" * (len(PERSONAS) + 1) + "|"]  # fmt: skip
    lines += [f"| `{label}` | " + " | ".join(row[p] for p in PERSONAS) + " |"
              for label, row in observed.items()]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def served_root_fields() -> set[str]:
    found = set()
    for kind, root in (("query", served_schema._schema.query_type),
                       ("mutation", served_schema._schema.mutation_type),
                       ("subscription", served_schema._schema.subscription_type)):  # fmt: skip
        assert root is not None
        found |= {f"{kind} {name}" for name in root.fields}
    return found


def test_every_operation_of_the_schema_is_in_the_table() -> None:
    covered = {" ".join(root_field(op.document)) for op in OPS}
    assert served_root_fields() - covered == set(), "operations without an access-control row"
    assert {op.label for op in OPS} == set(readme_table()), "README table and OPS differ"


async def test_outcomes_match_the_readme_table(world: World) -> None:
    observed: dict[str, dict[str, str]] = {}
    for op in OPS:
        observed[op.label] = {p: await call(world, op, p) for p in PERSONAS}
    target = os.environ.get("WRITE_ACCESS_TABLE")
    if target:
        write_table(Path(target), observed)
        return
    expected = readme_table()
    differences = [
        f"{label} as {persona}: README says {expected[label][persona]}, got {got}"
        for label, row in observed.items()
        for persona, got in row.items()
        if expected.get(label, {}).get(persona) != got
    ]
    assert differences == []


async def test_refusals_do_not_reveal_whether_something_exists(world: World) -> None:
    """Another student's objects and objects that do not exist are refused alike."""
    other = world.people["other student"]
    missing_assessment = "asmt_" + uuid.uuid4().hex
    for document, real, missing in (
        (f"mutation M($input: AnswerInput!) {{ answerQuestion(input: $input) {{ {PAYLOAD} "
         f"message }} }}", await answer_input(world, "other student"),
         {"input": {"assessmentId": missing_assessment, "questionId": world.draft_question,
                    "answer": "A"}}),
        ("mutation M($input: RecommendationFeedbackInput!) { recordRecommendationFeedback("
         "input: $input) { errors { code message field } } }",
         await feedback_input(world, "other student"),
         {"input": {"recommendationId": "reci_" + uuid.uuid4().hex, "accepted": True}}),
    ):  # fmt: skip
        document = document.replace(f"{PAYLOAD} message", "errors { code message field }")
        seen = await world.client.gql(document, real, other.token)
        unseen = await world.client.gql(document, missing, other.token)
        assert seen == unseen


# ---------------------------------------------------------------- the audit trail

# (operation label, who calls it, the audit action it must leave). Retry is proved in
# tests/api/test_failures.py (it needs a FAILED assessment), refresh-token reuse in
# tests/api/test_auth.py, advisor reads of every kind in tests/api/test_advisors.py.
AUDITED = [
    ("mutation login", "other student", "auth.login"),
    ("mutation logout", "owner", "auth.logout"),
    ("mutation updateMe", "owner", "user.update_me"),
    ("mutation exportMyData", "owner", "account.export"),
    ("mutation deleteMyAccount", "owner", "account.delete"),
    ("query user", "advisor", "advisor.read"),
    ("query result", "advisor", "advisor.read"),
    ("mutation createQuestion", "admin", "question.create"),
    ("mutation updateQuestion (an unused bank question)", "admin", "question.update"),
    ("mutation setQuestionActive", "admin", "question.set_active"),
    ("mutation setAssessmentForm", "admin", "form.set"),
    ("mutation upsertCredential", "admin", "credential.upsert"),
    ("mutation upsertTrack", "admin", "track.upsert"),
    ("mutation setCredentialActive", "admin", "credential.activate"),
    ("mutation rebuildRagIndex", "admin", "rag_index.rebuild"),
    ("mutation createWebhookEndpoint", "admin", "webhook.create"),
    ("mutation deleteWebhookEndpoint", "admin", "webhook.delete"),
    ("mutation assignAdvisor", "admin", "advisor.assign"),
    ("mutation setUserRole (another user)", "admin", "user.role"),
    ("mutation deleteUser (another user)", "admin", "account.delete"),
    ("mutation rescoreEssays", "admin", "assessment.rescore"),
    ("mutation overrideEssayScore (the machine's own score)", "advisor", "essay.override"),
]
AUDIT_ROWS = ("SELECT actor, action, request_id, created_at FROM audit_events "
              "WHERE action = :action ORDER BY created_at DESC, id DESC")  # fmt: skip


@pytest.mark.parametrize(("label", "persona", "action"), AUDITED)
async def test_audited_actions_leave_an_event(
    world: World, label: str, persona: str, action: str
) -> None:
    from domain.privacy import ERASED_ACTOR
    from tests.support.db import rows

    [op] = [op for op in OPS if op.label == label]
    before = await rows(world.server, AUDIT_ROWS, action=action)
    assert await call(world, op, persona) == "ok"
    after = await rows(world.server, AUDIT_ROWS, action=action)
    assert len(after) == len(before) + 1, f"{label} as {persona} left no {action} event"
    event = after[0]
    caller = world.extra.get(f"fresh:{persona}") if op.fresh_account else world.people[persona]
    assert caller is not None
    # The erased keep no name in the trail, not even their own deletion's actor.
    assert event["actor"] == (ERASED_ACTOR if action == "account.delete" and
                              persona != "admin" else caller.id)  # fmt: skip
    assert event["request_id"]
    assert event["created_at"] is not None
