"""Where an assessment's scoring stands: the polling query and the live subscription."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from db.tables import Assessment
from domain import ids
from domain.errors import AccessDenied
from domain.lifecycle import FINISHED, Status
from domain.progress import Progress
from jobs import events
from jobs.observability import metrics
from resolvers.assessments import can_see
from resolvers.context import CLOSE_FORBIDDEN, Context, SessionEnded

# A subscriber re-reads the stored state this often even without events: Redis pub/sub drops
# messages published while a connection was being re-established.
RESYNC_SECONDS = 15.0


async def of_assessment(ctx: Context, assessment: Assessment) -> Progress:
    rows = await ctx.loaders.stages.load(assessment.id)
    job = await ctx.loaders.pipeline_job.load(assessment.id)
    return events.progress_from_rows(assessment, rows, job.last_error if job else None)


async def status(ctx: Context, public_id: str) -> tuple[uuid.UUID, Progress] | None:
    """FR6 polling: null (no error) for an assessment the caller may not see."""
    from resolvers.assessments import visible

    assessment = await visible(ctx, public_id)
    if assessment is None:
        return None
    return assessment.id, await of_assessment(ctx, assessment)


async def watch(ctx: Context, public_id: str) -> AsyncIterator[tuple[uuid.UUID, Progress]]:
    """The current state at once, then every change, until DONE or FAILED (also when scoring
    finished before the subscription started). Owner, their advisor, admins; others FORBIDDEN."""
    caller = await ctx.require_caller()
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    assessment = await ctx.loaders.assessment.load(key) if key else None
    if assessment is None or not await can_see(ctx, caller, assessment):
        raise AccessDenied.forbidden("You may not watch this assessment.")
    services = ctx.services
    # Access is checked again on every event and at least this often without one: an advisor
    # unassigned, or a role or account removed, ends the stream (the socket closes 4403/4401).
    wait = min(RESYNC_SECONDS, services.settings.websocket_recheck_seconds)
    metrics().subscribers.add(1)
    try:
        # Subscribe first, then read: an event published in between is not lost.
        async with services.hub.subscribe(events.channel(services, assessment.id)) as queue:
            current = await events.snapshot(services, assessment.id)
            if current is None:
                return
            yield assessment.id, current
            last = current
            while last.status not in FINISHED:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=wait)
                    update = events.from_message(message)
                except TimeoutError:
                    await _still_allowed(ctx, assessment)
                    refreshed = await events.snapshot(services, assessment.id)
                    if refreshed is None:
                        return
                    update = refreshed
                if _same(update, last):
                    continue
                await _still_allowed(ctx, assessment)
                yield assessment.id, update
                last = update
    finally:
        metrics().subscribers.add(-1)


async def _still_allowed(ctx: Context, assessment: Assessment) -> None:
    if not ctx.is_websocket:
        return
    caller = await ctx.recheck()
    if not await can_see(ctx, caller, assessment):
        await ctx.end_session(CLOSE_FORBIDDEN, "You may no longer watch this assessment.")
        raise SessionEnded


def _same(a: Progress, b: Progress) -> bool:
    return (a.status, a.progress, a.stages, a.degraded) == (b.status, b.progress, b.stages,
                                                          b.degraded)  # fmt: skip


__all__ = ["Status", "of_assessment", "status", "watch"]
