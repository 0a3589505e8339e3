"""Results: scores, skill profile and recommendations, once the pipeline is DONE."""

from __future__ import annotations

import uuid

from db.repositories import audit
from db.repositories import results as results_repo
from db.repositories.results import StoredResult
from db.tables import Assessment, RecommendationItem
from db.types import utcnow
from domain import ids
from domain.errors import Problems, not_found
from domain.lifecycle import Status
from domain.text import clean_text
from resolvers.assessments import can_see, visible
from resolvers.context import Context

COMMENT_MAX = 2000


async def stored(ctx: Context, assessment: Assessment) -> StoredResult | None:
    if assessment.status != Status.DONE.value:
        return None
    result: StoredResult | None = await ctx.loaders.result.load(assessment.id)
    return result


async def result(ctx: Context, public_id: str) -> tuple[Assessment, StoredResult] | None:
    """Null, without an error, while the assessment is not DONE (assessmentStatus says why) or
    when the caller may not see it."""
    assessment = await visible(ctx, public_id)
    if assessment is None:
        return None
    found = await stored(ctx, assessment)
    return (assessment, found) if found else None


async def record_feedback(
    ctx: Context, *, recommendation_id: str, accepted: bool, comment: str | None
) -> tuple[RecommendationItem, Assessment]:
    """The owner of the assessment only; anyone else gets NOT_FOUND."""
    caller = await ctx.require_caller()
    problems = Problems()
    text = clean_text(comment) if comment else None
    if text and len(text) > COMMENT_MAX:
        problems.invalid(f"A comment has at most {COMMENT_MAX} characters.", "input", "comment")
    problems.raise_if_any()
    key = ids.decode(ids.Kind.RECOMMENDATION_ITEM, recommendation_id)
    item = None
    assessment = None
    if key is not None:
        async with ctx.read() as session:
            item = await results_repo.item_by_id(session, key)
            recommendation = (
                await results_repo.recommendation_by_id(session, item.recommendation_id)
                if item
                else None
            )
        if recommendation is not None:
            assessment = await ctx.loaders.assessment.load(recommendation.assessment_id)
    if item is None or assessment is None or assessment.user_id != caller.id:
        raise not_found("Recommendation", "input", "recommendationId")
    async with ctx.transaction() as uow:
        await results_repo.set_feedback(uow.session, item.id, caller.id, accepted, text, utcnow())
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="recommendation.feedback",
            resource=recommendation_id,
            subject_id=caller.id,
            request_id=ctx.request_id,
            meta={"accepted": accepted},
        )
    return item, assessment


async def item_node(ctx: Context, key: uuid.UUID) -> tuple[RecommendationItem, Assessment] | None:
    caller = await ctx.require_caller()
    async with ctx.read() as session:
        item = await results_repo.item_by_id(session, key)
        recommendation = (
            await results_repo.recommendation_by_id(session, item.recommendation_id)
            if item
            else None
        )
    if item is None or recommendation is None:
        return None
    assessment = await ctx.loaders.assessment.load(recommendation.assessment_id)
    if assessment is None or not await can_see(ctx, caller, assessment):
        return None
    return item, assessment
