from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.pagination import Page, paginate
from db.tables import (
    AdvisorAssignment,
    Assessment,
    AssessmentQuestion,
    EssayScore,
    EssayScoreOverride,
    Response,
)
from domain.essays import EssayResult, needs_review


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
    review_threshold: float,
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
        flags=[flag.value for flag in result.flags],
        local_score=result.local_score,
        needs_review=needs_review(result, review_threshold),
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


async def by_id(session: AsyncSession, key: uuid.UUID) -> EssayScore | None:
    return await session.get(EssayScore, key)


async def is_current(session: AsyncSession, row: EssayScore) -> bool:
    """Whether no newer score of the same essay exists (a re-score supersedes this one)."""
    newer = await session.scalar(
        sa.select(sa.func.count()).where(
            col(EssayScore.assessment_question_id) == row.assessment_question_id,
            col(EssayScore.id) > row.id,
        )
    )
    return not newer


async def add_override(
    session: AsyncSession,
    row: EssayScore,
    *,
    reviewer_id: uuid.UUID,
    score: float,
    rubric: list[dict[str, object]] | None,
    reason: str,
) -> EssayScoreOverride:
    override = EssayScoreOverride(
        essay_score_id=row.id,
        assessment_id=row.assessment_id,
        reviewer_id=reviewer_id,
        score=score,
        rubric_json=rubric,
        reason=reason,
    )
    session.add(override)
    await session.flush()
    return override


async def overrides_for(
    session: AsyncSession, essay_score_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EssayScoreOverride]:
    """The newest override of each essay score: a later human opinion replaces an earlier one."""
    if not essay_score_ids:
        return {}
    rows = await session.scalars(
        sa.select(EssayScoreOverride)
        .where(col(EssayScoreOverride.essay_score_id).in_(essay_score_ids))
        .order_by(col(EssayScoreOverride.created_at), col(EssayScoreOverride.id))
    )
    return {row.essay_score_id: row for row in rows}


def _newest_of_its_essay() -> sa.ColumnElement[bool]:
    newer = aliased(EssayScore)
    return ~sa.exists().where(
        col(newer.assessment_question_id) == col(EssayScore.assessment_question_id),
        col(newer.id) > col(EssayScore.id),
    )


async def review_queue(
    session: AsyncSession, *, advisor_id: uuid.UUID | None, first: int, after: str | None
) -> Page[EssayScore]:
    """Essay scores a human should look at: marked for review, the score the result shows
    (the newest of its essay), of a finished assessment, not overridden yet. Oldest first
    (ids are UUIDv7, so id order is creation order). Of an advisor's students when given."""
    statement = (
        sa.select(EssayScore)
        .join(Assessment, col(Assessment.id) == col(EssayScore.assessment_id))
        .where(
            col(EssayScore.needs_review).is_(True),
            col(Assessment.status) == "done",
            _newest_of_its_essay(),
            ~sa.exists().where(col(EssayScoreOverride.essay_score_id) == col(EssayScore.id)),
        )
    )
    if advisor_id is not None:
        statement = statement.where(
            col(Assessment.user_id).in_(
                sa.select(col(AdvisorAssignment.student_id)).where(
                    col(AdvisorAssignment.advisor_id) == advisor_id
                )
            )
        )
    return await paginate(session, statement, col(EssayScore.id), first, after, descending=False)


async def agreement_pairs(
    session: AsyncSession,
) -> list[tuple[float, EssayScore]]:
    """(human score, the machine score it replaced) for every overridden essay score, the
    newest override of each; not of custom assessments (analytics leave those out)."""
    rows = await session.execute(
        sa.select(EssayScoreOverride, EssayScore)
        .join(EssayScore, col(EssayScore.id) == col(EssayScoreOverride.essay_score_id))
        .join(Assessment, col(Assessment.id) == col(EssayScore.assessment_id))
        .where(col(Assessment.custom).is_(False))
        .order_by(col(EssayScoreOverride.created_at), col(EssayScoreOverride.id))
    )
    newest: dict[uuid.UUID, tuple[float, EssayScore]] = {}
    for override, score in rows:
        newest[score.id] = (float(override.score), score)
    return list(newest.values())


async def review_rows(
    session: AsyncSession, rows: Sequence[EssayScore]
) -> tuple[
    dict[uuid.UUID, AssessmentQuestion], dict[uuid.UUID, Response], dict[uuid.UUID, Assessment]
]:
    """What a reviewer needs beside each queued score (the question snapshot, the answer, the
    assessment), in three queries whatever the page size."""
    question_ids = list({row.assessment_question_id for row in rows})
    assessment_ids = list({row.assessment_id for row in rows})
    if not rows:
        return {}, {}, {}
    questions = await session.scalars(
        sa.select(AssessmentQuestion).where(col(AssessmentQuestion.id).in_(question_ids))
    )
    responses = await session.scalars(
        sa.select(Response).where(col(Response.assessment_question_id).in_(question_ids))
    )
    assessments = await session.scalars(
        sa.select(Assessment).where(col(Assessment.id).in_(assessment_ids))
    )
    return (
        {q.id: q for q in questions},
        {r.assessment_question_id: r for r in responses},
        {a.id: a for a in assessments},
    )
