"""ADMIN analytics: how well assessments complete, retrieval relevance, feedback, spend, queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.repositories import analytics as analytics_repo
from db.types import utcnow
from domain.errors import validation
from domain.roles import Role
from domain.stats import percentile, rate
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


async def analytics(ctx: Context, days: int) -> AnalyticsFigures:
    await ctx.require_caller(Role.ADMIN)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise validation(f"days must be 1..{MAX_WINDOW_DAYS}.", "days")
    since = utcnow() - timedelta(days=days)
    async with ctx.read() as session:
        completions = await analytics_repo.completions_since(session, since)
        relevance = await analytics_repo.top_similarity_per_bundle(session, since)
        accepted, feedback = await analytics_repo.feedback_since(session, since)
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
    )
