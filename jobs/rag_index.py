"""Keeping the vector index in step with the catalog: a full rebuild (rebuildRagIndex) or the
re-index of a few credentials after an upsert, both as `rag_index` jobs so the work runs where
jobs run and survives a crash like any other job."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from db.database import UnitOfWork
from db.repositories import catalog as catalog_repo
from db.repositories import embeddings as embeddings_repo
from db.repositories import jobs as jobs_repo
from db.tables import Credential, Job
from db.types import utcnow
from domain.retrieval import CatalogEntry, content_hash
from jobs.dispatch import dispatch_after_commit
from jobs.llm import LlmUnavailable
from jobs.observability import metrics
from jobs.retry import POLICIES
from jobs.services import Services
from jobs.vector_index import VectorIndexUnavailable

log = logging.getLogger(__name__)


async def request_reindex(
    uow: UnitOfWork, services: Services, credential_ids: Sequence[uuid.UUID] | None = None
) -> Job:
    """Queue a re-index in the caller's transaction (enqueued after commit). None: the whole
    catalog (active credentials upserted, inactive and deleted ones removed); otherwise just
    those credentials, added or removed according to their `active` flag."""
    payload: dict[str, Any] = (
        {"scope": "all"}
        if credential_ids is None
        else {"scope": "credentials", "credentials": [str(c) for c in credential_ids]}
    )
    payload["collection"] = services.vector_index.name
    job = await jobs_repo.add(uow.session, "rag_index", None, payload)
    dispatch_after_commit(uow, services.queue, job)
    return job


async def open_index_jobs(session: AsyncSession, collection: str) -> list[Job]:
    """Index jobs for this collection not finished yet, newest first. Scoped by collection:
    deployments (or test servers) with their own namespace and collection may share one
    database, and another's pending job says nothing about this index and is never run by
    this deployment's workers. Jobs queued before the payload named its collection count
    for every collection."""
    return [
        job
        for job in await jobs_repo.open_of_type(session, "rag_index")
        if (job.payload_json or {}).get("collection", collection) == collection
    ]


POLICY = POLICIES["rebuild_rag_index"]
BATCH = 16  # credentials embedded and written per step; progress is published after each
FAILED_BACKOFF = timedelta(minutes=5)


async def rebuild_rag_index(ctx: dict[str, Any], job: str) -> None:
    services: Services = ctx["services"]
    attempt = int(ctx.get("job_try", 1))
    job_id = uuid.UUID(job)
    row = await services.claim_job(job_id, POLICY.timeout_seconds + 10)
    if row is None:
        return
    payload = row.payload_json or {}
    try:
        if payload.get("scope") == "credentials":
            keys = [uuid.UUID(c) for c in payload.get("credentials", [])]
            await reindex(services, keys, call_key=f"{job_id}:{attempt}")
        else:
            await rebuild(services, call_key=f"{job_id}:{attempt}")
    except (VectorIndexUnavailable, LlmUnavailable) as exc:
        await _announce(services, "unavailable")
        if POLICY.is_last(attempt):
            # The sweeper asks for a rebuild again while the index is out of step.
            await services.settle_job(job_id, "failed", str(exc))
            metrics().jobs.add(1, {"task": "rebuild_rag_index", "event": "failed"})
            return
        await services.settle_job(job_id, "queued", str(exc))
        metrics().jobs.add(1, {"task": "rebuild_rag_index", "event": "retried"})
        raise Retry(defer=POLICY.delay(attempt) * services.settings.retry_delay_scale) from exc
    await services.settle_job(job_id, "done")
    await _announce(services, "ok")
    metrics().jobs.add(1, {"task": "rebuild_rag_index", "event": "succeeded"})


async def rebuild(services: Services, call_key: str) -> None:
    """Active credentials whose passages changed (or are missing from Chroma) are embedded
    again; everything else in the collection is removed."""
    index = services.vector_index
    async with services.db.read() as session:
        credentials = await embeddings_repo.credentials_to_index(session)
        mirrored = await embeddings_repo.for_collection(session, index.name)
    present = await index.indexed_keys()
    active = [c for c in credentials if c.active]
    stale = [
        c for c in active
        if str(c.id) not in present
        or (m := mirrored.get(c.id)) is None
        or m.content_hash != content_hash(entry_of(c), index.embedder.model)
    ]  # fmt: skip
    active_keys = {str(c.id) for c in active}
    gone = sorted((present | {str(k) for k in mirrored}) - active_keys)
    await index.remove(gone)
    async with services.db.transaction() as uow:
        await embeddings_repo.forget(uow.session, index.name, [uuid.UUID(k) for k in gone])
    total = len(stale)
    for start in range(0, total, BATCH):
        await _index(services, stale[start : start + BATCH], f"{call_key}:{start}")
        await _announce(services, "rebuilding", indexed=min(start + BATCH, total), total=total)
    log.info(
        "vector index rebuilt",
        extra={"collection": index.name, "embedded": total, "removed": len(gone)},
    )


async def reindex(services: Services, keys: Sequence[uuid.UUID], call_key: str) -> None:
    """Just these credentials: active ones (re-)embedded, the others removed."""
    index = services.vector_index
    async with services.db.read() as session:
        rows = await catalog_repo.by_ids(session, keys)
    active = [rows[k] for k in keys if k in rows and rows[k].active]
    inactive = [k for k in keys if k not in rows or not rows[k].active]
    await index.remove([str(k) for k in inactive])
    async with services.db.transaction() as uow:
        await embeddings_repo.forget(uow.session, index.name, inactive)
    if active:
        await _index(services, active, call_key)


async def _index(services: Services, credentials: Sequence[Credential], call_key: str) -> None:
    index = services.vector_index
    entries = [entry_of(c) for c in credentials]
    written = await index.upsert(entries, call_key)
    now = utcnow()
    async with services.db.transaction() as uow:
        for entry, indexed in zip(entries, written, strict=True):
            await embeddings_repo.record(
                uow.session, credential_id=uuid.UUID(entry.key), model=index.embedder.model,
                collection=index.name, dim=index.embedder.dim, embedding_id=indexed.embedding_id,
                content_hash=content_hash(entry, index.embedder.model),
                chunk_count=indexed.chunk_count, now=now,
            )  # fmt: skip


def entry_of(row: Credential) -> CatalogEntry:
    return CatalogEntry(
        key=str(row.id), slug=row.slug, title=row.title, provider=row.provider,
        description=row.description or "", tags=tuple(row.tags or ()),
        domains=tuple(row.domains or ()), level=row.level,
    )  # fmt: skip


def progress_channel(services: Services) -> str:
    return services.key("rag-index")


async def _announce(services: Services, state: str, indexed: int = 0, total: int = 0) -> None:
    message = {"state": state, "indexed": indexed, "total": total, "at": utcnow().isoformat()}
    try:
        await services.hub.publish(progress_channel(services), message)
    except Exception:  # progress is a courtesy; the index work must not fail because of it
        log.warning("could not publish index progress", exc_info=True)


async def ensure_index_current(services: Services) -> bool:
    """Ask for a rebuild when the index is out of step with the catalog (seeds loaded from the
    command line, a model change, a lost Chroma volume) and none is pending. True if asked.

    Not while Chroma is unreachable (the job could only fail), nor within FAILED_BACKOFF of a
    rebuild that failed (the embedding service may be down or the budget spent): an outage
    costs a heartbeat per sweep, not a failing job per sweep."""
    index = services.vector_index
    async with services.db.read() as session:
        if await open_index_jobs(session, index.name):
            return False
        if not await embeddings_repo.out_of_step(session, index.name):
            return False
        failed = await jobs_repo.latest_of_type(session, "rag_index", "failed")
    if failed and failed.finished_at and utcnow() - failed.finished_at < FAILED_BACKOFF:
        return False
    if not await index.heartbeat():
        return False
    async with services.db.transaction() as uow:
        await request_reindex(uow, services, None)
    log.info("vector index out of step with the catalog: rebuild requested")
    return True
