"""Administration of assessments: re-running a failed pipeline, re-scoring essays."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories import assessments as assessments_repo
from db.repositories import audit
from db.repositories import jobs as jobs_repo
from db.repositories import stages as stages_repo
from db.tables import Assessment, Job
from domain import ids
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import Status
from domain.roles import Role
from jobs.dispatch import dispatch_after_commit
from resolvers.context import Context
from resolvers.loaders import forget


def _assessment_key(public_id: str) -> uuid.UUID:
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    if key is None:
        raise not_found("Assessment", "assessmentId")
    return key


async def _locked_in_state(
    session: AsyncSession, key: uuid.UUID, wanted: Status, message: str
) -> Assessment:
    """The assessment, locked for this transaction, when it is in the `wanted` state."""
    assessment = await assessments_repo.by_id_for_update(session, key)
    if assessment is None:
        raise not_found("Assessment", "assessmentId")
    if assessment.status != wanted.value:
        raise DomainError.one(
            ErrorCode.INVALID_STATE,
            f"{message} This one is {Status(assessment.status).name}.",
            ("assessmentId",),
        )
    return assessment


async def rescore_essays(ctx: Context, public_id: str) -> tuple[Assessment, Job]:
    """Queue a re-score of a DONE assessment's essays (see jobs/rescoring.py)."""
    caller = await ctx.require_caller(Role.ADMIN)
    key = _assessment_key(public_id)
    async with ctx.transaction() as uow:
        assessment = await _locked_in_state(
            uow.session, key, Status.DONE, "Only a DONE assessment's essays can be re-scored."
        )
        job = await jobs_repo.add(uow.session, "rescore", key)
        dispatch_after_commit(uow, ctx.services.queue, job)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="assessment.rescore",
            resource=public_id,
            subject_id=assessment.user_id,
            request_id=ctx.request_id,
        )
    return assessment, job


async def retry_assessment(ctx: Context, public_id: str) -> tuple[Assessment, Job]:
    """FAILED -> QUEUED with a new pipeline job. Finished stages are kept; the failed one and
    those after it run again."""
    caller = await ctx.require_caller(Role.ADMIN)
    key = _assessment_key(public_id)
    async with ctx.transaction() as uow:
        assessment = await _locked_in_state(
            uow.session, key, Status.FAILED, "Only a FAILED assessment can be retried."
        )
        await assessments_repo.set_status(
            uow.session, key, {Status.FAILED}, Status.QUEUED, completed_at=None
        )
        await stages_repo.reset_unfinished(uow.session, key)
        job = await jobs_repo.add(uow.session, "pipeline", key, {"retry": True})
        dispatch_after_commit(uow, ctx.services.queue, job)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="assessment.retry",
            resource=public_id,
            subject_id=assessment.user_id,
            request_id=ctx.request_id,
        )
    forget(ctx.loaders.assessment, key)
    forget(ctx.loaders.pipeline_job, key)
    forget(ctx.loaders.stages, key)
    refreshed = await ctx.loaders.assessment.load(key)
    assert refreshed is not None
    return refreshed, job
