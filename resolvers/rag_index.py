"""The vector index as ADMIN sees it: statistics, and asking for a rebuild."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime

from db.repositories import audit
from db.repositories import embeddings as embeddings_repo
from db.repositories import jobs as jobs_repo
from db.tables import Job
from domain import ids
from domain.roles import Role
from jobs.rag_index import open_index_jobs, progress_channel, request_reindex
from resolvers.context import CLOSE_FORBIDDEN, Context, SessionEnded

RESYNC_SECONDS = 10.0


@dataclass(frozen=True)
class IndexStats:
    embeddings: int
    model: str
    dim: int
    last_build: datetime | None
    state: str  # "ok", "rebuilding" or "unavailable"
    indexed: int | None = None  # while rebuilding: credentials embedded so far by this job
    total: int | None = None  # ... out of this many


async def stats(ctx: Context) -> IndexStats:
    await ctx.require_caller(Role.ADMIN)
    return await _stats(ctx)


async def _stats(ctx: Context) -> IndexStats:
    """Counts come from embeddings_meta (the database's mirror of the collection), so they are
    there even while Chroma is not; the state says whether Chroma answers."""
    index = ctx.services.vector_index
    async with ctx.read() as session:
        vectors, dim, _ = await embeddings_repo.totals(session, index.name)
        pending = await open_index_jobs(session, index.name)
        last = await jobs_repo.latest_of_type(session, "rag_index", "done")
    state = "rebuilding" if pending else "ok" if await index.heartbeat() else "unavailable"
    return IndexStats(
        embeddings=vectors,
        model=index.embedder.model,
        dim=dim or index.embedder.dim,
        last_build=last.finished_at if last else None,
        state=state,
    )


async def rebuild(ctx: Context) -> tuple[str, Job]:
    """Queue a full rebuild; while one is queued or running, that one is returned instead of
    starting a second. Audited either way: the request is an admin action even when it joins
    a running rebuild."""
    caller = await ctx.require_caller(Role.ADMIN)
    async with ctx.transaction() as uow:
        pending = await open_index_jobs(uow.session, ctx.services.vector_index.name)
        job = pending[0] if pending else None
        status = "already-running" if job is not None else "queued"
        if job is None:
            job = await request_reindex(uow, ctx.services, None)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="rag_index.rebuild",
            resource=ids.encode(ids.Kind.JOB, job.id),
            request_id=ctx.request_id,
            meta={"outcome": status},
        )
    return status, job


async def watch(ctx: Context) -> AsyncIterator[IndexStats]:
    """The statistics now, then after every step of the running index job, until it ends (at
    once when none is running)."""
    await ctx.require_caller(Role.ADMIN)
    services = ctx.services
    wait = min(RESYNC_SECONDS, services.settings.websocket_recheck_seconds)
    async with services.hub.subscribe(progress_channel(services)) as queue:
        current = await _stats(ctx)
        yield current
        while current.state == "rebuilding":
            try:
                message = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:  # a missed message: the stored state tells
                await _still_admin(ctx)
                current = await _stats(ctx)
                yield current
                continue
            current = replace(
                await _stats(ctx), indexed=message.get("indexed"), total=message.get("total")
            )
            await _still_admin(ctx)
            if message.get("state") != "rebuilding" and current.state == "rebuilding":
                # The job's row may settle a moment after its last message.
                current = replace(current, state=str(message.get("state")))
            yield current


async def _still_admin(ctx: Context) -> None:
    """A demoted admin's stream ends (4403) at the next event or re-check."""
    if not ctx.is_websocket:
        return
    caller = await ctx.recheck()
    if not caller.is_admin:
        await ctx.end_session(CLOSE_FORBIDDEN, "Only admins may watch the vector index.")
        raise SessionEnded
