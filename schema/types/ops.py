from __future__ import annotations

import strawberry

from domain.stats import Agreement
from jobs.queue_stats import QueueSnapshot
from resolvers.analytics import AnalyticsFigures
from schema.types.results import ScorerKind


@strawberry.type
class Health:
    api: str
    db: str
    redis: str
    chroma: str


@strawberry.type
class QueueStats:
    depth: int = strawberry.field(description="Jobs waiting in the queue now.")
    oldest_age_seconds: float = strawberry.field(
        description="Age in seconds of the oldest job still waiting."
    )
    failed_last24h: int = strawberry.field(
        name="failedLast24h", description="Jobs that failed for good in the last 24 hours."
    )

    @classmethod
    def from_snapshot(cls, snapshot: QueueSnapshot) -> QueueStats:
        return cls(
            depth=snapshot.depth,
            oldest_age_seconds=snapshot.oldest_age_seconds,
            failed_last24h=snapshot.failed_last_24h,
        )


@strawberry.type(
    description="How one machine scorer agrees with the humans who overrode essay scores, over "
    "every override (the newest of each essay score). LOCAL includes the local scorer's second "
    "opinion beside LLM scores."
)
class ScorerAgreement:
    scorer: ScorerKind
    count: int = strawberry.field(description="Overridden essay scores with this scorer's score.")
    mean_absolute_difference: float | None = strawberry.field(
        description="Mean of |human - machine|; null without overrides."
    )
    pearson_r: float | None = strawberry.field(
        name="pearsonR", description="Null with fewer than two, or when a side does not vary."
    )

    @classmethod
    def from_domain(cls, figures: Agreement) -> ScorerAgreement:
        return cls(
            scorer=ScorerKind(figures.scorer),
            count=figures.count,
            mean_absolute_difference=figures.mean_absolute_difference,
            pearson_r=figures.pearson_r,
        )


@strawberry.type(
    description="Figures over the last `windowDays` days, except spend (this calendar month, "
    "UTC) and queue (now). A rate or percentile is null when there is nothing to measure yet."
)
class Analytics:
    window_days: int
    rag_relevance_p50: float | None = strawberry.field(
        name="ragRelevanceP50",
        description="Median of the best retrieval similarity of each recommendation bundle.",
    )
    rag_relevance_p95: float | None = strawberry.field(name="ragRelevanceP95")
    acceptance_rate: float | None = strawberry.field(
        description="Recommendations accepted / recommendations that got feedback."
    )
    assessments_completed: int
    completion_latency_p50_seconds: float | None = strawberry.field(
        name="completionLatencyP50Seconds", description="Submit to result, median."
    )
    completion_latency_p95_seconds: float | None = strawberry.field(
        name="completionLatencyP95Seconds"
    )
    degraded_rate: float | None = strawberry.field(
        description="Share of completed assessments where a stage fell back."
    )
    llm_spend_this_month_usd: float = strawberry.field(name="llmSpendThisMonthUsd")
    llm_budget_month_usd: float = strawberry.field(name="llmBudgetMonthUsd")
    queue: QueueStats
    scoring_agreement: list[ScorerAgreement] = strawberry.field(
        default_factory=list, description="Machine vs human over all essay overrides."
    )

    @classmethod
    def from_figures(cls, figures: AnalyticsFigures) -> Analytics:
        return cls(
            window_days=figures.window_days,
            rag_relevance_p50=figures.rag_relevance_p50,
            rag_relevance_p95=figures.rag_relevance_p95,
            acceptance_rate=figures.acceptance_rate,
            assessments_completed=figures.assessments_completed,
            completion_latency_p50_seconds=figures.completion_latency_p50,
            completion_latency_p95_seconds=figures.completion_latency_p95,
            degraded_rate=figures.degraded_rate,
            llm_spend_this_month_usd=figures.llm_spend_this_month,
            llm_budget_month_usd=figures.llm_budget_month,
            queue=QueueStats.from_snapshot(figures.queue),
            scoring_agreement=[ScorerAgreement.from_domain(a) for a in figures.scoring_agreement],
        )
