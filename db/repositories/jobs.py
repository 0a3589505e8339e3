from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
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


async def claim(
    session: AsyncSession, job_id: uuid.UUID, now: datetime, lease_seconds: float
) -> Job | None:
    """Take the job if nobody holds it: queued, or processing under a lease that ran out (its
    worker died). Compare-and-set, so of two runs of one job only one proceeds."""
    result = await session.execute(
        sa.update(Job)
        .where(
            col(Job.id) == job_id,
            sa.or_(
                col(Job.status) == "queued",
                sa.and_(
                    col(Job.status) == "processing",
                    sa.or_(col(Job.lease_until).is_(None), col(Job.lease_until) < now),
                ),
            ),
        )
        .values(
            status="processing",
            attempts=col(Job.attempts) + 1,
            lease_until=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(Job, job_id, populate_existing=True)


async def renew(session: AsyncSession, job_id: uuid.UUID, now: datetime, lease: float) -> None:
    await session.execute(
        sa.update(Job)
        .where(col(Job.id) == job_id, col(Job.status) == "processing")
        .values(lease_until=now + timedelta(seconds=lease), updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def settle(
    session: AsyncSession, job_id: uuid.UUID, status: str, now: datetime, error: str | None = None
) -> None:
    """Finish (done/failed) or hand back for a retry (queued), releasing the lease."""
    values: dict[str, Any] = {"status": status, "lease_until": None, "updated_at": now}
    if error is not None:
        values["last_error"] = error[:2000]
    if status in ("done", "failed"):
        values["finished_at"] = now
    await session.execute(
        sa.update(Job).where(col(Job.id) == job_id).values(**values)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


async def lost_candidates(session: AsyncSession, now: datetime, grace: float) -> list[Job]:
    """Jobs a queue may have lost: queued for longer than the grace period; processing under a
    lease that ran out (the worker died); or handed back for recovery and still not claimed
    after the grace period (the recovery enqueue was lost too)."""
    stale = now - timedelta(seconds=grace)
    statement = (
        sa.select(Job)
        .where(
            sa.or_(
                sa.and_(col(Job.status) == "queued", col(Job.updated_at) < stale),
                sa.and_(col(Job.status) == "processing", col(Job.lease_until) < now),
                sa.and_(
                    col(Job.status) == "processing",
                    col(Job.lease_until).is_(None),
                    col(Job.updated_at) < stale,
                ),
            )
        )
        .limit(500)
    )
    return list(await session.scalars(statement))


async def take_for_recovery(session: AsyncSession, job: Job, now: datetime) -> int | None:
    """Compare-and-set on the recovery count, so of several sweepers only one re-enqueues a
    job. The dead lease is cleared, so the recovery run can claim at once; updated_at restarts
    the grace period after which an unclaimed recovery is tried again. The new count, or
    None when another sweeper got there first."""
    result = await session.execute(
        sa.update(Job)
        .where(col(Job.id) == job.id, col(Job.recoveries) == job.recoveries)
        .values(recoveries=job.recoveries + 1, updated_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return job.recoveries + 1 if (result.rowcount or 0) == 1 else None  # type: ignore[attr-defined]


async def oldest_waiting(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        sa.select(sa.func.min(col(Job.created_at))).where(col(Job.status) == "queued")
    )


async def count_failed_since(session: AsyncSession, since: datetime) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(
                col(Job.status) == "failed", col(Job.finished_at) >= since
            )
        )
        or 0
    )


async def open_for_assessment(session: AsyncSession, assessment_id: uuid.UUID, type: str) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(
                col(Job.assessment_id) == assessment_id,
                col(Job.type) == type,
                col(Job.status).in_(["queued", "processing"]),
            )
        )
        or 0
    )


async def running_for_assessment(session: AsyncSession, assessment_id: uuid.UUID, type: str) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(
                col(Job.assessment_id) == assessment_id,
                col(Job.type) == type,
                col(Job.status) == "processing",
            )
        )
        or 0
    )


async def open_of_type(session: AsyncSession, type: str) -> list[Job]:
    """Jobs of a type not finished yet (queued or running), newest first."""
    statement = (
        sa.select(Job)
        .where(col(Job.type) == type, col(Job.status).in_(["queued", "processing"]))
        .order_by(col(Job.created_at).desc())
    )
    return list((await session.scalars(statement)).all())


async def latest_of_type(session: AsyncSession, type: str, status: str) -> Job | None:
    statement = (
        sa.select(Job)
        .where(col(Job.type) == type, col(Job.status) == status)
        .order_by(col(Job.finished_at).desc(), col(Job.id).desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()
