from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import AssessmentStage
from db.upsert import insert_for
from domain.progress import STAGES, Stage, StageState


async def ensure(session: AsyncSession, assessment_id: uuid.UUID) -> None:
    """A PENDING row for every stage that has none (safe to run twice)."""
    table = AssessmentStage.__table__  # type: ignore[attr-defined]
    for stage in STAGES:
        statement = insert_for(session, table).values(
            id=uuid.uuid4(), assessment_id=assessment_id, stage=stage.value,
            state=StageState.PENDING.value, attempts=0,
        )  # fmt: skip
        await session.execute(
            statement.on_conflict_do_nothing(index_elements=["assessment_id", "stage"])
        )


async def of(session: AsyncSession, assessment_id: uuid.UUID) -> dict[Stage, AssessmentStage]:
    rows = await session.scalars(
        sa.select(AssessmentStage)
        .where(col(AssessmentStage.assessment_id) == assessment_id)
        .execution_options(populate_existing=True)
    )
    return {Stage(row.stage): row for row in rows}


async def of_many(
    session: AsyncSession, assessment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[Stage, AssessmentStage]]:
    rows = await session.scalars(
        sa.select(AssessmentStage).where(col(AssessmentStage.assessment_id).in_(assessment_ids))
    )
    grouped: dict[uuid.UUID, dict[Stage, AssessmentStage]] = {}
    for row in rows:
        grouped.setdefault(row.assessment_id, {})[Stage(row.stage)] = row
    return grouped


async def mark(
    session: AsyncSession,
    assessment_id: uuid.UUID,
    stage: Stage,
    state: StageState,
    now: datetime,
    output: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"state": state.value}
    if state is StageState.IN_PROGRESS:
        values["attempts"] = col(AssessmentStage.attempts) + 1
        values["started_at"] = now
        values["finished_at"] = None
    if state in (StageState.DONE, StageState.FAILED, StageState.SKIPPED):
        values["finished_at"] = now
    if output is not None:
        values["output_json"] = output
    if error is not None:
        values["last_error"] = error[:2000]
    await session.execute(
        sa.update(AssessmentStage)
        .where(
            col(AssessmentStage.assessment_id) == assessment_id,
            col(AssessmentStage.stage) == stage.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def reset_unfinished(session: AsyncSession, assessment_id: uuid.UUID) -> None:
    """For a retry: failed or interrupted stages start over; finished ones are kept."""
    await session.execute(
        sa.update(AssessmentStage)
        .where(
            col(AssessmentStage.assessment_id) == assessment_id,
            col(AssessmentStage.state).in_([StageState.FAILED.value, StageState.IN_PROGRESS.value]),
        )
        .values(state=StageState.PENDING.value, finished_at=None)
        .execution_options(synchronize_session=False)
    )
