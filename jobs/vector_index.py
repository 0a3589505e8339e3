"""The credential passages in Chroma: an embedded PersistentClient under VAR_DIR/chroma by
default, an HttpClient when CHROMA_URL is set.

chromadb's client is synchronous: every call runs in a small thread pool with a timeout, so a
slow or dead Chroma never blocks the event loop. The client is opened lazily and dropped after
any failure, so a Chroma that comes back is used again without a restart. Failures surface as
VectorIndexUnavailable, and retrieval falls back to the catalog lookup.

An embedded store belongs to one process: with separate workers (REDIS_URL), set CHROMA_URL.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings

from domain.retrieval import CatalogEntry, Hit, Query, chunks_of, collection_name
from domain.retrieval import similarity_from_distance as similarity
from jobs.embeddings import Embedder
from settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class VectorIndexUnavailable(Exception):
    """Chroma cannot be reached or refused the call."""


@dataclass(frozen=True)
class Indexed:
    key: str
    chunk_count: int
    embedding_id: str


class VectorIndex:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.name = collection_name(
            f"{settings.redis_namespace}-credentials", embedder.provider, embedder.model
        )
        self.remote = settings.chroma_url is not None
        self._client: ClientAPI | None = None
        self._collection: Collection | None = None
        # Two threads: a hung call (until its timeout) does not hold up a health check.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chroma")
        self._opening = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    def _open_client(self) -> ClientAPI:
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url is None:
            path = self.settings.var_dir / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        url = urlsplit(self.settings.chroma_url)
        secure = url.scheme == "https"
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if secure else 8000),
            ssl=secure,
            settings=chroma_settings,
        )

    def _collection_now(self) -> Collection:
        # chromadb's client set-up is not safe to run twice at once for one path.
        with self._opening:
            if self._collection is None:
                self._client = self._client or self._open_client()
                self._collection = self._client.get_or_create_collection(
                    self.name,
                    embedding_function=self.embedder.chroma_function(),  # type: ignore[arg-type]
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"provider": self.embedder.provider, "model": self.embedder.model},
                )
            return self._collection

    async def _run(self, work: Callable[[Collection], T]) -> T:
        def call() -> T:
            return work(self._collection_now())

        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, call), self.settings.chroma_timeout_seconds
            )
        except Exception as exc:
            # Reconnect on the next call: the server may have restarted or been replaced.
            self._client = self._collection = None
            raise VectorIndexUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from exc

    # ------------------------------------------------------------------ operations

    async def heartbeat(self) -> bool:
        try:
            await self._run(lambda collection: collection.count())
            return True
        except VectorIndexUnavailable:
            return False

    async def count(self) -> int:
        return await self._run(lambda collection: collection.count())

    async def upsert(self, entries: Sequence[CatalogEntry], call_key: str) -> list[Indexed]:
        """Replace the passages of these credentials (a shorter description leaves no stale
        passage behind)."""
        if not entries:
            return []
        chunked = [(entry, chunks_of(entry)) for entry in entries]
        chunks = [chunk for _, entry_chunks in chunked for chunk in entry_chunks]
        vectors = await self.embedder.embed([c.document for c in chunks], call_key=call_key)
        owners = [entry.key for entry, entry_chunks in chunked for _ in entry_chunks]

        def write(collection: Collection) -> None:
            collection.delete(where=_credential_in([e.key for e in entries]))
            collection.upsert(
                ids=[c.id for c in chunks],
                embeddings=vectors,  # type: ignore[arg-type]
                documents=[c.document for c in chunks],
                metadatas=[
                    {"credential": owner, "snippet": chunk.snippet}
                    for owner, chunk in zip(owners, chunks, strict=True)
                ],
            )

        await self._run(write)
        return [
            Indexed(entry.key, len(entry_chunks), entry_chunks[0].id)
            for entry, entry_chunks in chunked
        ]

    async def remove(self, keys: Sequence[str]) -> None:
        if keys:
            await self._run(lambda collection: collection.delete(where=_credential_in(keys)))

    async def indexed_keys(self) -> set[str]:
        def read(collection: Collection) -> set[str]:
            found = collection.get(include=["metadatas"])
            return {str(m["credential"]) for m in found["metadatas"] or [] if m}

        return await self._run(read)

    async def search(self, queries: Sequence[Query], per_query: int, call_key: str) -> list[Hit]:
        """The `per_query` best passages for each query, each hit naming its query's reason."""
        vectors = await self.embedder.embed([q.text for q in queries], call_key=call_key)

        def query(collection: Collection) -> Any:
            return collection.query(
                query_embeddings=vectors,  # type: ignore[arg-type]
                n_results=per_query,
                include=["metadatas", "distances"],
            )

        found = await self._run(query)
        return [
            Hit(str(m["credential"]), str(m.get("snippet") or ""), similarity(d), asked.reason)
            for asked, metadatas, distances in zip(
                queries, found["metadatas"] or [], found["distances"] or [], strict=False
            )
            for m, d in zip(metadatas, distances, strict=True)
            if m
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _credential_in(keys: Sequence[str]) -> Where:
    # chromadb's Where type wants literal operator keys, which a dict display cannot state.
    return cast(Where, {"credential": {"$in": list(keys)}})
