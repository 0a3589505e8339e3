from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import Job


async def add(
    session: AsyncSession,
    type: str,
    assessment_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Job:
    job = Job(type=type, assessment_id=assessment_id, payload_json=payload or {})
    session.add(job)
    await session.flush()
    return job


async def by_id(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id)


async def latest_for(session: AsyncSession, assessment_id: uuid.UUID, type: str) -> Job | None:
    statement = (
        sa.select(Job)
        .where(col(Job.assessment_id) == assessment_id, col(Job.type) == type)
        .order_by(col(Job.id).desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def latest_for_many(
    session: AsyncSession, assessment_ids: Sequence[uuid.UUID], type: str
) -> dict[uuid.UUID, Job]:
    """The newest job of this type per assessment, in one query."""
    rows = await session.scalars(
        sa.select(Job)
        .where(col(Job.assessment_id).in_(assessment_ids), col(Job.type) == type)
        .order_by(col(Job.id))
    )
    latest: dict[uuid.UUID, Job] = {}
    for row in rows:
        if row.assessment_id is not None:
            latest[row.assessment_id] = row  # ascending ids: the last one wins
    return latest
