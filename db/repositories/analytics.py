"""Reads behind the ADMIN analytics: completions, degradation, retrieval relevance, feedback.

Custom assessments (an admin's try-out with a composition that is not its form's) are not
measurements of the service's real use: every read here leaves them out."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import (
    Assessment,
    RagTrace,
    Recommendation,
    RecommendationFeedback,
    RecommendationItem,
)


async def completions_since(session: AsyncSession, since: datetime) -> list[tuple[float, bool]]:
    """(seconds from submit to result, degraded) for each assessment completed since `since`.
    Durations are computed here rather than in SQL so SQLite and PostgreSQL agree."""
    rows = await session.execute(
        sa.select(
            col(Assessment.submitted_at), col(Assessment.completed_at), col(Assessment.degraded)
        ).where(
            col(Assessment.status) == "done",
            col(Assessment.completed_at) >= since,
            col(Assessment.custom).is_(False),
        )
    )
    return [
        (max((completed - submitted).total_seconds(), 0.0), bool(degraded))
        for submitted, completed, degraded in rows
        if submitted is not None and completed is not None
    ]


async def top_similarity_per_bundle(session: AsyncSession, since: datetime) -> list[float]:
    """The best retrieval score of each recommendation bundle generated since `since`."""
    best = sa.func.max(col(RagTrace.score))
    rows = await session.execute(
        sa.select(best)
        .join(Recommendation, col(Recommendation.id) == col(RagTrace.recommendation_id))
        .join(Assessment, col(Assessment.id) == col(Recommendation.assessment_id))
        .where(
            col(Recommendation.generated_at) >= since,
            col(RagTrace.score).is_not(None),
            col(Assessment.custom).is_(False),
        )
        .group_by(col(RagTrace.recommendation_id))
    )
    return [float(value) for (value,) in rows if value is not None]


async def feedback_since(session: AsyncSession, since: datetime) -> tuple[int, int]:
    """(accepted, feedback given) over feedback last changed since `since`."""
    accepted = sa.func.sum(sa.case((col(RecommendationFeedback.accepted), 1), else_=0))
    row = (
        await session.execute(
            sa.select(accepted, sa.func.count())
            .join(
                RecommendationItem,
                col(RecommendationItem.id) == col(RecommendationFeedback.item_id),
            )
            .join(
                Recommendation, col(Recommendation.id) == col(RecommendationItem.recommendation_id)
            )
            .join(Assessment, col(Assessment.id) == col(Recommendation.assessment_id))
            .where(
                col(RecommendationFeedback.updated_at) >= since,
                col(Assessment.custom).is_(False),
            )
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)
