from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import LlmUsage
from db.upsert import insert_for


async def record(
    session: AsyncSession,
    *,
    call_key: str,
    assessment_id: uuid.UUID | None,
    purpose: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
    month: str,
    now: datetime,
) -> None:
    """One row per call; the same call recorded twice (a retried write) stays one row."""
    table = LlmUsage.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(
        id=uuid.uuid4(), call_key=call_key, assessment_id=assessment_id, purpose=purpose,
        model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        cost_usd=cost_usd, month=month, created_at=now,
    )  # fmt: skip
    await session.execute(statement.on_conflict_do_nothing(index_elements=["call_key"]))


async def month_spend(session: AsyncSession, month: str) -> float:
    total = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(col(LlmUsage.cost_usd)), 0)).where(
            col(LlmUsage.month) == month
        )
    )
    return float(total or 0)


async def calls_for(session: AsyncSession, assessment_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(col(LlmUsage.assessment_id) == assessment_id)
        )
        or 0
    )
