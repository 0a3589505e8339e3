from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import EssayScore
from domain.essays import EssayResult


async def latest_for(
    session: AsyncSession, question_ids: Sequence[uuid.UUID], scored_by: str | None = None
) -> dict[tuple[uuid.UUID, str], EssayScore]:
    """The newest score per (question, answer hash); of one scorer kind when given (a stand-in
    local score counts as that too: it is what the LLM's call produced)."""
    statement = sa.select(EssayScore).where(
        col(EssayScore.assessment_question_id).in_(question_ids)
    )
    if scored_by == "llm":
        statement = statement.where(
            sa.or_(col(EssayScore.scored_by) == "llm", col(EssayScore.degraded).is_(True))
        )
    elif scored_by is not None:
        statement = statement.where(col(EssayScore.scored_by) == scored_by)
    rows = await session.scalars(statement.order_by(col(EssayScore.created_at), col(EssayScore.id)))
    latest: dict[tuple[uuid.UUID, str], EssayScore] = {}
    for row in rows:
        latest[(row.assessment_question_id, row.answer_hash)] = row
    return latest


async def add(
    session: AsyncSession,
    assessment_id: uuid.UUID,
    question_id: uuid.UUID,
    answer_hash: str,
    result: EssayResult,
) -> EssayScore:
    row = EssayScore(
        assessment_id=assessment_id,
        assessment_question_id=question_id,
        answer_hash=answer_hash,
        score=result.score,
        rubric_json=[
            {"name": c.name, "score": c.score, "justification": c.justification}
            for c in result.criteria
        ],
        feedback=result.feedback,
        scored_by=result.scored_by,
        degraded=result.degraded,
        prompt_version=result.prompt_version,
        model=result.model,
    )
    session.add(row)
    await session.flush()
    return row


async def history(session: AsyncSession, assessment_id: uuid.UUID) -> list[EssayScore]:
    rows = await session.scalars(
        sa.select(EssayScore)
        .where(col(EssayScore.assessment_id) == assessment_id)
        .order_by(col(EssayScore.created_at))
    )
    return list(rows)
