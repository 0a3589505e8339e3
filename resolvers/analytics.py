"""ADMIN analytics: how well assessments complete, retrieval relevance, feedback, spend, queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.repositories import analytics as analytics_repo
from db.repositories import essay_scores as essay_scores_repo
from db.tables import EssayScore
from db.types import utcnow
from domain.errors import validation
from domain.roles import Role
from domain.stats import Agreement, agreement, percentile, rate
from jobs.queue_stats import QueueSnapshot, queue_snapshot
from resolvers.context import Context

MAX_WINDOW_DAYS = 366


@dataclass(frozen=True)
class AnalyticsFigures:
    window_days: int
    assessments_completed: int
    completion_latency_p50: float | None
    completion_latency_p95: float | None
    degraded_rate: float | None
    rag_relevance_p50: float | None
    rag_relevance_p95: float | None
    acceptance_rate: float | None
    llm_spend_this_month: float
    llm_budget_month: float
    queue: QueueSnapshot
    # Machine vs human over every override (all time, not the window: overrides are few).
    scoring_agreement: tuple[Agreement, ...] = ()


async def analytics(ctx: Context, days: int) -> AnalyticsFigures:
    await ctx.require_caller(Role.ADMIN)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise validation(f"days must be 1..{MAX_WINDOW_DAYS}.", "days")
    since = utcnow() - timedelta(days=days)
    async with ctx.read() as session:
        completions = await analytics_repo.completions_since(session, since)
        relevance = await analytics_repo.top_similarity_per_bundle(session, since)
        accepted, feedback = await analytics_repo.feedback_since(session, since)
        overridden = await essay_scores_repo.agreement_pairs(session)
    services = ctx.services
    latencies = [seconds for seconds, _ in completions]
    return AnalyticsFigures(
        window_days=days,
        assessments_completed=len(completions),
        completion_latency_p50=percentile(latencies, 50),
        completion_latency_p95=percentile(latencies, 95),
        degraded_rate=rate(sum(1 for _, degraded in completions if degraded), len(completions)),
        rag_relevance_p50=percentile(relevance, 50),
        rag_relevance_p95=percentile(relevance, 95),
        acceptance_rate=rate(accepted, feedback),
        llm_spend_this_month=await services.llm.spent_this_month(),
        llm_budget_month=services.settings.llm_monthly_budget_usd,
        queue=await queue_snapshot(services),
        scoring_agreement=scoring_agreement(overridden),
    )


def scoring_agreement(overridden: list[tuple[float, EssayScore]]) -> tuple[Agreement, ...]:
    """Per scorer: the LLM's own scores (not the local stand-ins of a degraded run), and the
    local scorer's, whether it made the score or gave the second opinion beside the LLM."""
    llm = [(human, row.score) for human, row in overridden
           if row.scored_by == "llm" and not row.degraded]  # fmt: skip
    local = [
        (human, row.score if row.scored_by == "local" else row.local_score)
        for human, row in overridden
        if row.scored_by == "local" or row.local_score is not None
    ]
    return (
        agreement("llm", llm),
        agreement("local", [(h, float(m)) for h, m in local if m is not None]),
    )
