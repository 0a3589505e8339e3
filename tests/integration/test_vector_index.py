"""The vector index when things change or break: a new embedding model gets a collection of
its own, and a Chroma that is down degrades recommendations (never empties them) until it is
back, without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from db.repositories import embeddings as embeddings_repo
from jobs.embeddings import LexicalEmbedder, OpenAIEmbedder
from jobs.rag_index import ensure_index_current, rebuild
from jobs.services import open_services
from jobs.vector_index import VectorIndex, VectorIndexUnavailable
from tests.support import chroma
from tests.support.client import GraphQLClient, register_and_login
from tests.support.fake_openai import fake_openai
from tests.support.pipeline import RESULT, completed
from tests.support.stacks import Server, StackConfig, free_port, provision, selected_stacks

STATS = "{ ragIndexStats { state embeddings } health { chroma } }"


@pytest.fixture(params=selected_stacks())
async def own_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StackConfig]:
    """A database of the test's own: no other test's index jobs are open in it."""
    async with provision(request.param, tmp_path_factory.mktemp("model-change")) as stack:
        yield stack


async def test_a_new_embedding_model_gets_a_new_collection(own_stack: StackConfig) -> None:
    stack = own_stack
    async with fake_openai() as fake:
        small = stack.settings(openai_api_key="k", openai_base_url=fake.base_url)
        large = stack.settings(
            openai_api_key="k", openai_base_url=fake.base_url,
            embedding_model="text-embedding-3-large",
        )  # fmt: skip
        async with open_services(small) as services:
            await rebuild(services, call_key="model-small")
            small_name = services.vector_index.name
            small_count = await services.vector_index.count()
        async with open_services(large) as services:
            index = services.vector_index
            assert index.name != small_name
            assert index.name.endswith("openai-text-embedding-3-large")
            # Nothing of the new model is indexed yet: the sweeper's check asks for a build.
            assert await ensure_index_current(services) is True
            await rebuild(services, call_key="model-large")
            assert await index.count() == small_count
            async with services.db.read() as session:
                mirrored = await embeddings_repo.for_collection(session, index.name)
                assert {m.model for m in mirrored.values()} == {"text-embedding-3-large"}
                assert await embeddings_repo.for_collection(session, small_name)
    assert {r["model"] for r in fake.embedding_requests} == {
        "text-embedding-3-small", "text-embedding-3-large"
    }  # fmt: skip


async def test_collections_of_two_models_never_mix(tmp_path: Path) -> None:
    from settings import Settings

    settings = Settings(var_dir=tmp_path, redis_namespace="mix")
    lexical = VectorIndex(settings, LexicalEmbedder())
    other = VectorIndex(settings, OpenAIEmbedder(llm=None, model="m2"))  # type: ignore[arg-type]
    assert lexical.name != other.name
    from domain.retrieval import CatalogEntry

    entry = CatalogEntry("k", "s", "Title", None, "One sentence.", (), ("web",), "beginner")
    await lexical.upsert([entry], "c")
    assert await lexical.count() == 2
    assert await other.count() == 0
    lexical.close()
    other.close()


async def test_an_unreachable_chroma_fails_fast_and_says_so(tmp_path: Path) -> None:
    from settings import Settings

    # Fast means refused at once, not given up on after the timeout: the failure must be the
    # refused connection (a timeout this long would only expire if the client retried or hung).
    settings = Settings(
        var_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}", chroma_timeout_seconds=60
    )
    index = VectorIndex(settings, LexicalEmbedder())
    assert await index.heartbeat() is False
    from domain.retrieval import Query

    with pytest.raises(VectorIndexUnavailable) as refused:
        await index.search([Query("q", "networking")], 5, "c")
    assert not isinstance(refused.value.__cause__, TimeoutError), refused.value
    index.close()


@pytest.fixture(params=selected_stacks())
async def chroma_down(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, GraphQLClient, int]]:
    port = free_port()
    async with provision(request.param, tmp_path_factory.mktemp("chroma-down")) as stack:
        settings = stack.settings(chroma_url=f"http://127.0.0.1:{port}", chroma_timeout_seconds=2)
        server = Server(settings, build_index=False)
        await server.start()
        client = GraphQLClient(server.base_url)
        try:
            if settings.redis_url:
                from tests.support.worker import running_worker

                async with running_worker(settings) as worker:
                    server.worker = worker
                    yield server, client, port
            else:
                yield server, client, port
        finally:
            await client.aclose()
            await server.stop()


async def test_chroma_down_falls_back_to_the_lookup_and_recovers_without_a_restart(
    chroma_down: tuple[Server, GraphQLClient, int],
) -> None:
    server, client, port = chroma_down
    admin = await register_and_login(client, role="ADMIN")
    student = await register_and_login(client)
    seen = await client.data(STATS, token=admin.token)
    assert seen["health"]["chroma"] == "down"
    assert seen["ragIndexStats"]["state"] in ("unavailable", "rebuilding")
    async with httpx.AsyncClient() as http:
        ready = await http.get(f"{server.base_url}/readyz")
    assert ready.status_code == 200  # recommendations degrade; no work is lost
    assert ready.json()["chroma"] == "down"

    during = await completed(client, student.token)
    result = (await client.data(RESULT, {"id": during["id"]}, student.token))["result"]
    assert result["degraded"] is True
    items = result["recommendations"]["items"]
    assert len(items) >= 2  # never an empty bundle while the catalog has active credentials
    assert all(t["score"] is None for i in items for t in i["ragTrace"])  # no similarity

    back = await asyncio.to_thread(chroma.start_on, port)
    try:
        # The sweeper notices the index is out of step and asks for a build; the index
        # reconnects by itself.
        deadline = time.monotonic() + 90
        while True:
            stats = (await client.data(STATS, token=admin.token))["ragIndexStats"]
            if stats["state"] == "ok" and stats["embeddings"] > 0:
                break
            assert time.monotonic() < deadline, stats
            await asyncio.sleep(0.5)
        after = await completed(client, student.token)
        result = (await client.data(RESULT, {"id": after["id"]}, student.token))["result"]
        assert result["degraded"] is False
        traces = [t for i in result["recommendations"]["items"] for t in i["ragTrace"]]
        assert all(t["score"] is not None for t in traces)
    finally:
        await asyncio.to_thread(chroma.stop, back)


async def test_two_namespaces_on_one_database_keep_their_own_mirrors(
    own_stack: StackConfig,
) -> None:
    """Two deployments sharing a database (and the embedding model) but not a collection: the
    second one's build must not take over the first one's rows, or the first one's statistics
    drop to zero and it re-embeds everything on its next check."""
    first = own_stack.settings(redis_namespace="first")
    second = own_stack.settings(redis_namespace="second")
    async with open_services(first) as services:
        await rebuild(services, call_key="first-build")
        first_name = services.vector_index.name
        async with services.db.read() as session:
            first_rows = len(await embeddings_repo.for_collection(session, first_name))
    assert first_rows > 0
    async with open_services(second) as services:
        await rebuild(services, call_key="second-build")
        assert services.vector_index.name != first_name
    async with open_services(first) as services:
        async with services.db.read() as session:
            assert len(await embeddings_repo.for_collection(session, first_name)) == first_rows
        assert await ensure_index_current(services) is False
