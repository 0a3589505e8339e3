"""The stored result of an assessment: scores, profile, recommendation bundle and traces."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import (
    Credential,
    RagTrace,
    Recommendation,
    RecommendationFeedback,
    RecommendationItem,
    Score,
)


@dataclass(frozen=True)
class ItemToStore:
    credential_id: uuid.UUID
    rank: int
    reason: str
    fit: float
    traces: Sequence[dict[str, Any]]  # source, snippet, url, score


@dataclass
class StoredResult:
    score: Score
    recommendation: Recommendation
    items: list[RecommendationItem] = field(default_factory=list)
    traces: dict[uuid.UUID, list[RagTrace]] = field(default_factory=dict)
    credentials: dict[uuid.UUID, Credential] = field(default_factory=dict)


async def store(
    session: AsyncSession,
    assessment_id: uuid.UUID,
    *,
    theory: dict[str, Any],
    essays: dict[str, Any],
    interests: dict[str, Any],
    profile: dict[str, Any],
    summary: str,
    degraded: bool,
    items: Sequence[ItemToStore],
    now: datetime,
) -> None:
    session.add(
        Score(
            assessment_id=assessment_id,
            theory_score_json=theory,
            essay_scores_json=essays,
            profile_signals_json=interests,
            profile_json=profile,
            computed_at=now,
        )
    )
    recommendation = Recommendation(
        assessment_id=assessment_id, summary_text=summary, degraded=degraded, generated_at=now
    )
    session.add(recommendation)
    await session.flush()
    for item in items:
        row = RecommendationItem(
            recommendation_id=recommendation.id,
            credential_id=item.credential_id,
            rank=item.rank,
            reason_short=item.reason,
            fit_score=item.fit,
        )
        session.add(row)
        await session.flush()
        _add_traces(session, recommendation.id, row.id, item.traces)
    await session.flush()


def _add_traces(
    session: AsyncSession,
    recommendation_id: uuid.UUID,
    item_id: uuid.UUID,
    traces: Sequence[Mapping[str, Any]],
) -> None:
    """The passages that found one recommended credential (the pipeline's and a rebuild's)."""
    for trace in traces:
        session.add(
            RagTrace(
                recommendation_id=recommendation_id,
                item_id=item_id,
                source_title=trace.get("source"),
                snippet=trace.get("snippet"),
                source_url=trace.get("url"),
                score=trace.get("score"),
            )
        )


async def load(
    session: AsyncSession, assessment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StoredResult]:
    """Every stored result of these assessments, in a fixed number of queries."""
    scores = {
        s.assessment_id: s
        for s in await session.scalars(
            sa.select(Score).where(col(Score.assessment_id).in_(assessment_ids))
        )
    }
    recommendations = {
        r.assessment_id: r
        for r in await session.scalars(
            sa.select(Recommendation).where(col(Recommendation.assessment_id).in_(assessment_ids))
        )
    }
    rec_ids = [r.id for r in recommendations.values()]
    items = list(
        await session.scalars(
            sa.select(RecommendationItem)
            .where(col(RecommendationItem.recommendation_id).in_(rec_ids))
            .order_by(col(RecommendationItem.rank))
        )
    )
    traces: dict[uuid.UUID, list[RagTrace]] = defaultdict(list)
    for trace in await session.scalars(
        sa.select(RagTrace).where(col(RagTrace.recommendation_id).in_(rec_ids))
        .order_by(col(RagTrace.id))
    ):  # fmt: skip
        traces[trace.item_id].append(trace)
    credential_ids = list({i.credential_id for i in items})
    credentials = {
        c.id: c
        for c in await session.scalars(
            sa.select(Credential).where(col(Credential.id).in_(credential_ids))
        )
    }
    results: dict[uuid.UUID, StoredResult] = {}
    for assessment_id, score in scores.items():
        recommendation = recommendations.get(assessment_id)
        if recommendation is None:
            continue
        own = [i for i in items if i.recommendation_id == recommendation.id]
        results[assessment_id] = StoredResult(
            score=score,
            recommendation=recommendation,
            items=own,
            traces={i.id: traces.get(i.id, []) for i in own},
            credentials={i.credential_id: credentials[i.credential_id] for i in own},
        )
    return results


async def item_by_id(session: AsyncSession, item_id: uuid.UUID) -> RecommendationItem | None:
    return await session.get(RecommendationItem, item_id)


async def recommendation_by_id(session: AsyncSession, key: uuid.UUID) -> Recommendation | None:
    return await session.get(Recommendation, key)


async def feedback_of(
    session: AsyncSession, user_id: uuid.UUID, item_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RecommendationFeedback]:
    rows = await session.scalars(
        sa.select(RecommendationFeedback).where(
            col(RecommendationFeedback.user_id) == user_id,
            col(RecommendationFeedback.item_id).in_(item_ids),
        )
    )
    return {row.item_id: row for row in rows}


async def set_feedback(
    session: AsyncSession,
    item_id: uuid.UUID,
    user_id: uuid.UUID,
    accepted: bool,
    comment: str | None,
    now: datetime,
) -> None:
    from db.upsert import insert_for

    table = RecommendationFeedback.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(
        id=uuid.uuid4(), item_id=item_id, user_id=user_id, accepted=accepted, comment=comment,
        created_at=now, updated_at=now,
    )  # fmt: skip
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["item_id", "user_id"],
            set_={"accepted": accepted, "comment": comment, "updated_at": now},
        )
    )


async def replace_recommendation(
    session: AsyncSession,
    recommendation: Recommendation,
    *,
    summary: str,
    degraded: bool,
    items: Sequence[ItemToStore],
    now: datetime,
) -> None:
    """New picks for a stored bundle (the profile changed after a human override). An item
    whose credential is picked again keeps its row, so the student's feedback on it stays;
    items no longer picked go, with their traces and feedback (that recommendation is no longer
    made)."""
    recommendation.summary_text = summary
    recommendation.degraded = degraded
    recommendation.generated_at = now
    existing = {
        row.credential_id: row
        for row in await session.scalars(
            sa.select(RecommendationItem).where(
                col(RecommendationItem.recommendation_id) == recommendation.id
            )
        )
    }
    await session.execute(
        sa.delete(RagTrace).where(col(RagTrace.recommendation_id) == recommendation.id)
    )
    # Ranks are unique per bundle: park the kept rows out of the way before renumbering.
    for row in existing.values():
        row.rank = -row.rank - 1
    await session.flush()
    wanted = {item.credential_id for item in items}
    dropped = [row.id for key, row in existing.items() if key not in wanted]
    if dropped:
        await session.execute(
            sa.delete(RecommendationFeedback).where(
                col(RecommendationFeedback.item_id).in_(dropped)
            )
        )
        await session.execute(
            sa.delete(RecommendationItem).where(col(RecommendationItem.id).in_(dropped))
        )
    existing = {key: row for key, row in existing.items() if key in wanted}
    await session.flush()
    for item in items:
        row = existing.get(item.credential_id) or RecommendationItem(
            recommendation_id=recommendation.id, credential_id=item.credential_id, rank=item.rank
        )
        row.rank, row.reason_short, row.fit_score = item.rank, item.reason, item.fit
        session.add(row)
        await session.flush()
        _add_traces(session, recommendation.id, row.id, item.traces)
    await session.flush()
