"""The credential catalog through the API: ADMIN upserts and (de)activates, any signed-in user
lists what is active. The seeded catalog shares the database with every other test, so each test
makes its own slugs, tags and domains and never counts the whole table."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from domain import ids
from tests.support.client import Account, GraphQLClient, register_and_login
from tests.support.db import rows, scalar
from tests.support.stacks import Server

FIELDS = "id slug title provider url description tags domains level active updatedAt"
UPSERT = f"""
mutation Upsert($input: CredentialInput!) {{
  upsertCredential(input: $input) {{ credential {{ {FIELDS} }} errors {{ field code message }} }}
}}"""
SET_ACTIVE = f"""
mutation SetActive($id: ID!, $active: Boolean!) {{
  setCredentialActive(id: $id, active: $active) {{
    credential {{ {FIELDS} }} errors {{ field code message }}
  }}
}}"""
LIST = """
query Catalog($active: Boolean, $tag: String, $domain: String, $first: Int, $after: String) {
  credentials(active: $active, tag: $tag, domain: $domain, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { slug active } }
  }
}"""

UNSETTLED_REINDEX_JOBS = (
    "SELECT count(*) FROM jobs WHERE type = 'rag_index' AND status IN ('queued', 'processing')"
)


@pytest.fixture(scope="module", autouse=True)
async def settled_reindex_jobs(server: Server) -> AsyncIterator[None]:
    """Every change here queues a rag_index job for the worker. Give them a moment to finish
    after the last test, so they do not run on into the next module or get cut off when the
    session stops the worker. Their outcome is the indexer's business, not asserted here."""
    yield
    for _ in range(100):
        if not await scalar(server, UNSETTLED_REINDEX_JOBS):
            return
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def admin(client: GraphQLClient) -> Account:
    return await register_and_login(client, role="ADMIN")


@pytest.fixture(scope="module")
async def advisor(client: GraphQLClient) -> Account:
    return await register_and_login(client, role="ADVISOR")


@pytest.fixture(scope="module")
async def student(client: GraphQLClient) -> Account:
    return await register_and_login(client)


def unique(prefix: str) -> str:
    """A slug, tag or domain no other test (or seed) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def credential_input(slug: str, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": "Kubernetes Fundamentals",
        "provider": "CNCF",
        "url": "https://example.edu/k8s",
        "description": "Pods, deployments and services.",
        "tags": ["kubernetes", "containers"],
        "domains": ["cloud"],
        "level": "BEGINNER",
        **extra,
    }


async def upsert(client: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await client.data(UPSERT, {"input": credential_input(**fields)}, token)
    payload: dict[str, Any] = body["upsertCredential"]
    assert payload["errors"] == [], payload
    return payload["credential"]  # type: ignore[no-any-return]


async def set_active(
    client: GraphQLClient, token: str, public_id: str, active: bool
) -> dict[str, Any]:
    body = await client.data(SET_ACTIVE, {"id": public_id, "active": active}, token)
    return body["setCredentialActive"]  # type: ignore[no-any-return]


async def listing(client: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    return (await client.data(LIST, variables, token))["credentials"]  # type: ignore[no-any-return]


def slugs(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["slug"] for edge in connection["edges"]]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _json(raw: Any) -> Any:
    # Raw SQL hands JSON back as text on SQLite (and from asyncpg), as a value elsewhere.
    return json.loads(raw) if isinstance(raw, str) else raw


async def reindex_jobs(server: Server, public_id: str) -> int:
    """How many rag_index jobs name this credential."""
    key = str(ids.decode(ids.Kind.CREDENTIAL, public_id))
    found = await rows(server, "SELECT payload_json FROM jobs WHERE type = 'rag_index'")
    return sum(key in (_json(r["payload_json"]).get("credentials") or []) for r in found)


async def audit_trail(server: Server, public_id: str) -> list[tuple[str, dict[str, Any]]]:
    found = await rows(
        server,
        "SELECT action, meta_json FROM audit_events WHERE resource = :r ORDER BY created_at, id",
        r=public_id,
    )
    return [(r["action"], _json(r["meta_json"])) for r in found]


async def catalog_size(server: Server) -> int:
    return int(await scalar(server, "SELECT count(*) FROM credentials"))


# ---------------------------------------------------------------- upsert


async def test_upsert_creates_then_updates_by_slug(
    client: GraphQLClient, server: Server, admin: Account
) -> None:
    slug = unique("k8s")
    created = await upsert(client, admin.token, slug=slug, tags=["Kubernetes ", "containers"])
    assert created["id"].startswith("cred_")
    assert {k: v for k, v in created.items() if k not in ("id", "updatedAt")} == {
        "slug": slug,
        "title": "Kubernetes Fundamentals",
        "provider": "CNCF",
        "url": "https://example.edu/k8s",
        "description": "Pods, deployments and services.",
        "tags": ["kubernetes", "containers"],  # stored trimmed and lower-cased
        "domains": ["cloud"],
        "level": "BEGINNER",
        "active": True,
    }

    updated = await upsert(
        client,
        admin.token,
        slug=slug,
        title="Kubernetes Administrator",
        provider=None,
        tags=["kubernetes"],
        domains=["cloud", "devops"],
        level="ADVANCED",
    )
    assert updated["id"] == created["id"]
    assert updated["title"] == "Kubernetes Administrator"
    assert updated["provider"] is None
    assert updated["tags"] == ["kubernetes"]
    assert updated["domains"] == ["cloud", "devops"]
    assert updated["level"] == "ADVANCED"
    assert moment(updated["updatedAt"]) > moment(created["updatedAt"])
    assert await scalar(server, "SELECT count(*) FROM credentials WHERE slug = :s", s=slug) == 1
    assert await reindex_jobs(server, created["id"]) == 2

    same = await upsert(
        client,
        admin.token,
        slug=slug,
        title="Kubernetes Administrator",
        provider=None,
        tags=["kubernetes"],
        domains=["cloud", "devops"],
        level="ADVANCED",
    )
    assert same == updated
    assert await reindex_jobs(server, created["id"]) == 2  # nothing changed, nothing to index
    assert await audit_trail(server, created["id"]) == [
        ("credential.upsert", {"slug": slug, "outcome": "created"}),
        ("credential.upsert", {"slug": slug, "outcome": "updated"}),
        ("credential.upsert", {"slug": slug, "outcome": "unchanged"}),
    ]


async def test_defaults_of_a_minimal_input(client: GraphQLClient, admin: Account) -> None:
    slug = unique("minimal")
    body = await client.data(UPSERT, {"input": {"slug": slug, "title": "Minimal"}}, admin.token)
    credential = body["upsertCredential"]["credential"]
    assert {k: v for k, v in credential.items() if k not in ("id", "updatedAt")} == {
        "slug": slug,
        "title": "Minimal",
        "provider": None,
        "url": None,
        "description": None,
        "tags": [],
        "domains": [],
        "level": None,
        "active": True,
    }


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"slug": "Not A Slug"}, ["input", "slug"]),
        ({"slug": "ab"}, ["input", "slug"]),
        ({"title": "   "}, ["input", "title"]),
        ({"url": "javascript:alert(1)"}, ["input", "url"]),
        ({"tags": ["fine", "Not a tag!"]}, ["input", "tags", "1"]),
        ({"domains": ["_bad"]}, ["input", "domains", "0"]),
    ],
)
async def test_invalid_input_saves_nothing(
    client: GraphQLClient,
    server: Server,
    admin: Account,
    patch: dict[str, Any],
    field: list[str],
) -> None:
    before = await catalog_size(server)
    jobs_before = await scalar(server, "SELECT count(*) FROM jobs WHERE type = 'rag_index'")
    variables = {"input": credential_input(unique("invalid")) | patch}
    payload = (await client.data(UPSERT, variables, admin.token))["upsertCredential"]
    assert payload["credential"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "VALIDATION_ERROR")]
    assert await catalog_size(server) == before
    assert await scalar(server, "SELECT count(*) FROM jobs WHERE type = 'rag_index'") == jobs_before


async def test_every_problem_is_reported_at_once(client: GraphQLClient, admin: Account) -> None:
    variables = {"input": {"slug": "X", "title": "", "url": "ftp://example.edu", "tags": ["A B"]}}
    payload = (await client.data(UPSERT, variables, admin.token))["upsertCredential"]
    assert [e["field"] for e in payload["errors"]] == [
        ["input", "slug"],
        ["input", "title"],
        ["input", "url"],
        ["input", "tags", "0"],
    ]


# ---------------------------------------------------------------- activation


async def test_set_active_both_ways(client: GraphQLClient, server: Server, admin: Account) -> None:
    created = await upsert(client, admin.token, slug=unique("toggle"))
    public_id = created["id"]
    assert await reindex_jobs(server, public_id) == 1

    off = await set_active(client, admin.token, public_id, False)
    assert off["errors"] == []
    assert off["credential"]["active"] is False
    assert off["credential"]["id"] == public_id
    assert await reindex_jobs(server, public_id) == 2

    again = await set_active(client, admin.token, public_id, False)
    assert again["credential"]["active"] is False
    assert again["credential"]["updatedAt"] == off["credential"]["updatedAt"]
    assert await reindex_jobs(server, public_id) == 2  # already inactive: nothing to re-index

    on = await set_active(client, admin.token, public_id, True)
    assert on["credential"]["active"] is True
    assert await reindex_jobs(server, public_id) == 3
    assert [action for action, _ in await audit_trail(server, public_id)] == [
        "credential.upsert",
        "credential.deactivate",
        "credential.deactivate",
        "credential.activate",
    ]


@pytest.mark.parametrize(
    "public_id",
    [
        ids.encode(ids.Kind.CREDENTIAL, uuid.uuid4()),
        "cred_not-an-id",
        ids.encode(ids.Kind.QUESTION, uuid.uuid4()),
        "",
    ],
)
async def test_set_active_of_an_unknown_credential(
    client: GraphQLClient, admin: Account, public_id: str
) -> None:
    assert await set_active(client, admin.token, public_id, False) == {
        "credential": None,
        "errors": [{"field": ["id"], "code": "NOT_FOUND", "message": "Credential not found"}],
    }


# ---------------------------------------------------------------- permissions


async def test_only_admins_change_the_catalog(
    client: GraphQLClient, server: Server, admin: Account, student: Account, advisor: Account
) -> None:
    existing = await upsert(client, admin.token, slug=unique("guarded"))
    before = await catalog_size(server)
    for caller in (student, advisor):
        denied = await client.gql(UPSERT, {"input": credential_input(unique("no"))}, caller.token)
        assert denied["data"] is None
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        variables = {"id": existing["id"], "active": False}
        refused = await client.gql(SET_ACTIVE, variables, caller.token)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await catalog_size(server) == before
    active = "SELECT active FROM credentials WHERE slug = :s"
    assert await scalar(server, active, s=existing["slug"]) in (True, 1)
    assert [action for action, _ in await audit_trail(server, existing["id"])] == [
        "credential.upsert"
    ]


async def test_anonymous_callers_see_nothing(client: GraphQLClient) -> None:
    body = await client.gql(LIST)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    denied = await client.gql(UPSERT, {"input": credential_input(unique("anon"))})
    assert denied["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- listing


async def test_non_admins_only_ever_see_active_credentials(
    client: GraphQLClient, admin: Account, student: Account, advisor: Account
) -> None:
    tag = unique("vis")
    shown = await upsert(client, admin.token, slug=unique("shown"), tags=[tag])
    hidden = await upsert(client, admin.token, slug=unique("hidden"), tags=[tag], active=False)
    for reader in (student, advisor):
        assert slugs(await listing(client, reader.token, tag=tag)) == [shown["slug"]]
        assert slugs(await listing(client, reader.token, tag=tag, active=True)) == [shown["slug"]]
        assert await listing(client, reader.token, tag=tag, active=False) == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "edges": [],
        }
    everything = await listing(client, admin.token, tag=tag)
    assert sorted(slugs(everything)) == sorted([shown["slug"], hidden["slug"]])
    assert everything["totalCount"] == 2
    assert slugs(await listing(client, admin.token, tag=tag, active=False)) == [hidden["slug"]]
    assert slugs(await listing(client, admin.token, tag=tag, active=True)) == [shown["slug"]]


async def test_filters_match_whole_tags_and_domains(
    client: GraphQLClient, admin: Account, student: Account
) -> None:
    tag, domain = unique("tag"), unique("dom")
    both = await upsert(client, admin.token, slug=unique("both"), tags=[tag], domains=[domain])
    tagged = await upsert(client, admin.token, slug=unique("tagged"), tags=["x", tag])
    # Longer names that merely contain the wanted one must not match.
    await upsert(client, admin.token, slug=unique("near"), tags=[f"{tag}x"], domains=[f"a{domain}"])

    assert sorted(slugs(await listing(client, student.token, tag=tag))) == sorted(
        [both["slug"], tagged["slug"]]
    )
    assert slugs(await listing(client, student.token, domain=domain)) == [both["slug"]]
    assert slugs(await listing(client, student.token, tag=tag, domain=domain)) == [both["slug"]]
    # Names are stored trimmed and lower-cased, and so is what a filter asks for.
    assert slugs(await listing(client, student.token, domain=f" {domain.upper()} ")) == [
        both["slug"]
    ]
    assert await listing(client, student.token, tag=unique("none")) == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_seeded_catalog_is_listed(client: GraphQLClient, student: Account) -> None:
    page = await listing(client, student.token)
    assert page["totalCount"] >= 100  # seeds/catalog.yaml
    assert len(page["edges"]) == 50  # the contract's default page
    assert page["pageInfo"]["hasNextPage"] is True
    assert all(edge["node"]["active"] for edge in page["edges"])


async def test_pages_in_slug_order(client: GraphQLClient, admin: Account, student: Account) -> None:
    tag = unique("page")
    made = sorted(
        [(await upsert(client, admin.token, slug=unique(p), tags=[tag]))["slug"] for p in "ecadb"]
    )
    seen: list[str] = []
    after = None
    for expected_size, has_next in [(2, True), (2, True), (1, False)]:
        page = await listing(client, student.token, tag=tag, first=2, after=after)
        assert page["totalCount"] == 5
        assert len(page["edges"]) == expected_size
        assert page["pageInfo"]["hasNextPage"] is has_next
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen += slugs(page)
        after = page["pageInfo"]["endCursor"]
    assert seen == made

    empty = await listing(client, student.token, tag=tag, first=0)
    assert (empty["totalCount"], empty["edges"], empty["pageInfo"]["hasNextPage"]) == (5, [], True)


@pytest.mark.parametrize(
    "variables", [{"first": 101}, {"first": -1}, {"after": "!!"}, {"after": "bm90IGEgc2x1Zw"}]
)
async def test_bad_page_arguments(
    client: GraphQLClient, student: Account, variables: dict[str, Any]
) -> None:
    body = await client.gql(LIST, variables, student.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


NODE = "query Node($id: ID!) { node(id: $id) { id ... on Credential { slug active } } }"


async def test_node_finds_a_credential_inactive_ones_for_admins_only(
    client: GraphQLClient, admin: Account, student: Account
) -> None:
    created = await upsert(client, admin.token, slug=unique("node"))
    seen = (await client.data(NODE, {"id": created["id"]}, student.token))["node"]
    assert seen == {"id": created["id"], "slug": created["slug"], "active": True}
    await set_active(client, admin.token, created["id"], False)
    assert (await client.data(NODE, {"id": created["id"]}, student.token))["node"] is None
    hidden = (await client.data(NODE, {"id": created["id"]}, admin.token))["node"]
    assert hidden["active"] is False
