"""Item statistics of the question bank (ADMIN): see domain/item_stats.py for each figure."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.item_stats import MIN_RESPONSES
from domain.item_stats import ItemFlag as DomainItemFlag
from domain.questions import QuestionType
from resolvers.item_stats import QuestionStatsEntry
from schema.types.common import PageInfo
from schema.types.questions import Question

ItemFlag = strawberry.enum(
    DomainItemFlag,
    name="ItemFlag",
    description=f"Raised from {MIN_RESPONSES} responses on. TOO_EASY: facility > 0.95. "
    "TOO_HARD: facility < 0.10. NEGATIVE_DISCRIMINATION: students who do well on the rest of "
    "the assessment do worse on this item. DISTRACTOR_NEVER_CHOSEN: a wrong option of a "
    "multiple-choice item nobody picked.",
)


@strawberry.type
class OptionPickRate:
    key: str
    count: int
    rate: float = strawberry.field(description="Picks / responses, 0..1.")
    correct: bool


@strawberry.type
class QuestionStats:
    question: Question
    responses: int = strawberry.field(
        description="Answered, scored responses (omitted items are not counted)."
    )
    facility: float | None = strawberry.field(
        description="Proportion correct (multiple choice) or mean score (essay); null without "
        "responses."
    )
    discrimination: float | None = strawberry.field(
        description="Correlation of the item's score with the mean score of the rest of the "
        "assessment (point-biserial for multiple choice), -1..1; null while either varies not."
    )
    option_pick_rates: list[OptionPickRate] = strawberry.field(
        description="Multiple choice: every option, picked or not; empty for essays."
    )
    mean_seconds_to_answer: float | None = strawberry.field(
        description="Always null for now: answers store when they were saved, not when the "
        "question was shown, so the time spent on an item is not known."
    )
    flags: list[ItemFlag]  # type: ignore[valid-type]
    updated_at: datetime | None = strawberry.field(
        description="When a scored assessment last changed these figures."
    )

    @classmethod
    def from_entry(cls, entry: QuestionStatsEntry) -> QuestionStats:
        stats = entry.stats
        return cls(
            question=Question.from_row(entry.question),
            responses=stats.responses,
            facility=stats.facility,
            discrimination=stats.discrimination,
            option_pick_rates=[
                OptionPickRate(key=o.key, count=o.count, rate=o.rate, correct=o.correct)
                for o in stats.options
            ],
            mean_seconds_to_answer=None,
            flags=list(entry.flags),
            updated_at=entry.updated_at,
        )


@strawberry.input
class QuestionStatsFilter:
    type: QuestionType | None = strawberry.field(
        default=None, description="THEORETICAL or ESSAY (PROFILE items are not scored)."
    )
    domain: str | None = None
    flag: ItemFlag | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only items whose statistics raise this flag."
    )


@strawberry.type
class QuestionStatsEdge:
    node: QuestionStats
    cursor: str


@strawberry.type
class QuestionStatsConnection:
    edges: list[QuestionStatsEdge]
    page_info: PageInfo
    total_count: int
