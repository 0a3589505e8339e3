"""The vector index and retrieval-augmented recommendations, on both stacks: an embedded
Chroma beside SQLite, a Chroma server beside PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from db.repositories import catalog as catalog_repo
from db.repositories import jobs as jobs_repo
from domain.retrieval import Query, chunks_of
from jobs.rag_index import entry_of, open_index_jobs, progress_channel
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, scalar, uuid_param
from tests.support.pipeline import RESULT, completed
from tests.support.stacks import Server
from tests.support.ws import connect

STATS = "{ ragIndexStats { embeddings model dim lastBuild state } }"
REBUILD = """mutation { rebuildRagIndex { status startedAt job { id type status }
                                          errors { code } } }"""
UPSERT = """
mutation Upsert($input: CredentialInput!) {
  upsertCredential(input: $input) { credential { id slug active } errors { field code } }
}"""
SET_ACTIVE = """
mutation Active($id: ID!, $active: Boolean!) {
  setCredentialActive(id: $id, active: $active) { credential { id active } errors { code } }
}"""
PROGRESS = "subscription { ragIndexProgress { embeddings state indexed total } }"
RELEVANCE = "{ analytics { ragRelevanceP50 ragRelevanceP95 } }"


async def index_idle(server: Server, timeout: float = 90) -> None:
    """Until no index job of this server's collection is queued or running."""
    deadline = time.monotonic() + timeout
    while True:
        async with server.services.db.read() as session:
            if not await open_index_jobs(session, server.services.vector_index.name):
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"index jobs still open after {timeout}s")
        await asyncio.sleep(0.1)


async def test_rebuild_and_stats_mirror_the_collection(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    body = (await client.data(REBUILD, token=admin.token))["rebuildRagIndex"]
    assert body["errors"] == []
    assert body["status"] in ("queued", "already-running")
    assert body["job"]["type"] == "rag_index"
    assert body["startedAt"] is not None
    await index_idle(server)
    stats = (await client.data(STATS, token=admin.token))["ragIndexStats"]
    index = server.services.vector_index
    assert stats["state"] == "ok"
    assert stats["model"] == "all-MiniLM-L6-v2"
    assert stats["dim"] == 384
    assert stats["lastBuild"] is not None
    vectors = await index.count()
    assert stats["embeddings"] == vectors
    # This server's collection: other servers of the run (other namespaces) share the database.
    mirrored = await scalar(
        server, "SELECT sum(chunk_count) FROM embeddings_meta WHERE collection = :n", n=index.name
    )
    assert vectors == mirrored
    active = await scalar(server, "SELECT count(*) FROM credentials WHERE active")
    assert len(await index.indexed_keys()) == active

    student = await register_and_login(client)
    for query in (STATS, REBUILD):
        denied = await client.gql(query, token=student.token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_upsert_reindexes_one_credential_and_deactivation_removes_it(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    slug = f"quasar-lattice-{uuid.uuid4().hex[:8]}"
    body = await client.data(UPSERT, {"input": {
        "slug": slug, "title": "Quasar Lattice Tuning", "provider": "Test Academy",
        "url": "https://example.edu/quasar",
        "description": "Hands-on quasar lattice tuning for orbital relays. Learners calibrate "
                       "lattice harmonics and verify relay drift.",
        "tags": ["quasar"], "domains": ["networking"], "level": "BEGINNER",
    }}, admin.token)  # fmt: skip
    created = body["upsertCredential"]["credential"]
    key = str(uuid.UUID(str(uuid_param(server, created["id"]))))  # canonical, as in the index
    await index_idle(server)
    index = server.services.vector_index
    assert key in await index.indexed_keys()
    [meta] = await rows(
        server, "SELECT chunk_count, collection FROM embeddings_meta WHERE credential_id = :c"
        " AND collection = :n", c=uuid_param(server, created["id"]), n=index.name,
    )  # fmt: skip
    assert meta["collection"] == index.name
    async with server.services.db.read() as session:
        row = await catalog_repo.by_slug(session, slug)
    assert row is not None
    assert meta["chunk_count"] == len(chunks_of(entry_of(row))) == 2
    hits = await index.search([Query("probe", "calibrating quasar lattice harmonics")], 3, "t")
    assert hits[0].credential_key == key

    off = await client.data(SET_ACTIVE, {"id": created["id"], "active": False}, admin.token)
    assert off["setCredentialActive"]["credential"]["active"] is False
    await index_idle(server)
    assert key not in await index.indexed_keys()
    assert await scalar(server, "SELECT count(*) FROM embeddings_meta WHERE credential_id = :c"
                        " AND collection = :n", c=uuid_param(server, created["id"]),
                        n=index.name) == 0  # fmt: skip


async def test_recommendations_cite_the_passages_that_found_them(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    result = (await client.data(RESULT, {"id": assessment["id"]}, student.token))["result"]
    bundle = result["recommendations"]
    assert bundle["degraded"] is False
    assert 2 <= len(bundle["items"]) <= 3
    for item in bundle["items"]:
        credential = item["credential"]
        assert credential["active"] is True
        assert 0 <= item["fitScore"] <= 1
        assert item["reasonShort"].endswith(".")
        assert item["ragTrace"], item
        for trace in item["ragTrace"]:
            assert trace["source"] in (credential["provider"], credential["title"])
            assert trace["url"] == credential["url"]
            assert trace["snippet"]
            assert -1 <= trace["score"] <= 1  # the passage's cosine similarity
    admin = await register_and_login(client, role="ADMIN")
    relevance = (await client.data(RELEVANCE, token=admin.token))["analytics"]
    assert relevance["ragRelevanceP50"] is not None
    assert relevance["ragRelevanceP50"] <= relevance["ragRelevanceP95"] <= 1


async def test_inactive_credentials_are_never_recommended(
    client: GraphQLClient, server: Server
) -> None:
    student = await register_and_login(client)
    admin = await register_and_login(client, role="ADMIN")
    first = await completed(client, student.token)
    result = (await client.data(RESULT, {"id": first["id"]}, student.token))["result"]
    picked = [i["credential"]["id"] for i in result["recommendations"]["items"]]
    for credential_id in picked:
        await client.data(SET_ACTIVE, {"id": credential_id, "active": False}, admin.token)
    try:
        # At once, before the index jobs drop them: the database decides, not the index.
        second = await completed(client, student.token)
        again = (await client.data(RESULT, {"id": second["id"]}, student.token))["result"]
        items = again["recommendations"]["items"]
        assert len(items) >= 2
        assert not {i["credential"]["id"] for i in items} & set(picked)
    finally:
        for credential_id in picked:
            await client.data(SET_ACTIVE, {"id": credential_id, "active": True}, admin.token)
        await index_idle(server)


async def test_a_rebuild_publishes_its_progress(client: GraphQLClient, server: Server) -> None:
    """The job announces each batch; the ragIndexProgress subscription relays them."""
    admin = await register_and_login(client, role="ADMIN")
    await index_idle(server)
    # Forget the mirror so the rebuild embeds every credential again, in several batches.
    async with server.services.db.engine.begin() as connection:
        import sqlalchemy as sa

        await connection.execute(sa.text("DELETE FROM embeddings_meta"))
    services = server.services
    async with services.hub.subscribe(progress_channel(services)) as queue:
        await client.data(REBUILD, token=admin.token)
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["state"] == "rebuilding":
            seen.append(await asyncio.wait_for(queue.get(), timeout=60))
    assert seen[-1]["state"] == "ok"
    steps = [m for m in seen if m["state"] == "rebuilding"]
    assert len(steps) >= 2
    assert steps[-1]["indexed"] == steps[-1]["total"] > 0
    await index_idle(server)

    # With nothing running, the subscription gives the statistics once and completes.
    async with connect(server.ws_url, admin.token) as subscription:
        events = await subscription.events(PROGRESS, {})
    [event] = events
    assert event["data"]["ragIndexProgress"]["state"] == "ok"
    assert event["data"]["ragIndexProgress"]["embeddings"] > 0


async def test_the_subscription_follows_a_running_job(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    await index_idle(server)
    services = server.services
    # A queued job no worker will take (never enqueued): the index counts as rebuilding.
    async with services.db.transaction() as uow:
        job = await jobs_repo.add(
            uow.session,
            "rag_index",
            None,
            {"scope": "test", "collection": services.vector_index.name},
        )
    try:
        async with connect(server.ws_url, admin.token) as subscription:
            listening = asyncio.create_task(subscription.events(PROGRESS, {}))
            await asyncio.sleep(0.5)
            channel = progress_channel(services)
            await services.hub.publish(channel, {"state": "rebuilding", "indexed": 16,
                                                 "total": 32})  # fmt: skip
            await asyncio.sleep(0.3)
            await services.settle_job(job.id, "done")
            await services.hub.publish(channel, {"state": "ok", "indexed": 32, "total": 32})
            events = await asyncio.wait_for(listening, 30)
    finally:
        await services.settle_job(job.id, "done")
    states = [e["data"]["ragIndexProgress"] for e in events]
    assert states[0]["state"] == "rebuilding"
    assert {"state": "rebuilding", "indexed": 16, "total": 32}.items() <= states[1].items()
    assert states[-1]["state"] == "ok"


@pytest.mark.parametrize("query", [STATS, REBUILD])
async def test_index_operations_need_a_signed_in_admin(client: GraphQLClient, query: str) -> None:
    anonymous = await client.gql(query)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_students_may_not_watch_the_index(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    async with connect(server.ws_url, student.token) as subscription:
        received = await subscription.events(PROGRESS, {}, timeout=10)
    assert received[-1]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
