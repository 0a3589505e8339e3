"""Human review of essay scores: the queue and the override (resolvers/review.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import ids
from domain.essay_flags import EssayFlag, parse_flags
from resolvers.review import ReviewEntry
from schema.errors import UserError
from schema.types.assessments import Assessment, Job
from schema.types.common import PageInfo
from schema.types.results import CriterionScore, EssayScoreOverride, ScorerKind
from schema.types.users import User


@strawberry.type(description="An essay the machine is unsure about, waiting for a human.")
class ReviewItem:
    essay_score_id: strawberry.ID = strawberry.field(description="Give it to overrideEssayScore.")
    score: float = strawberry.field(description="The machine score the result uses now.")
    scored_by: ScorerKind
    degraded: bool
    local_score: float | None = strawberry.field(
        description="The local scorer's second opinion when the LLM made the score (for a "
        "LOCAL score this is the score itself)."
    )
    flags: list[EssayFlag]
    rubric: list[CriterionScore]
    feedback: str | None
    question_id: strawberry.ID
    domain: str
    question_prompt: str
    answer_text: str
    student: User
    assessment: Assessment
    scored_at: datetime

    @classmethod
    def from_entry(cls, entry: ReviewEntry) -> ReviewItem:
        row = entry.score
        return cls(
            essay_score_id=strawberry.ID(ids.encode(ids.Kind.ESSAY_SCORE, row.id)),
            score=row.score,
            scored_by=ScorerKind(row.scored_by),
            degraded=row.degraded,
            local_score=row.local_score if row.scored_by == "llm" else row.score,
            flags=list(parse_flags(row.flags)),
            rubric=[
                CriterionScore(name=c["name"], score=float(c["score"])) for c in row.rubric_json
            ],
            feedback=row.feedback,
            question_id=strawberry.ID(
                ids.encode(ids.Kind.ASSESSMENT_QUESTION, row.assessment_question_id)
            ),
            domain=entry.question.domain,
            question_prompt=entry.question.prompt_snapshot,
            answer_text=entry.answer,
            student=User.from_row(entry.student),
            assessment=Assessment.from_row(entry.assessment),
            scored_at=row.created_at,
        )


@strawberry.type
class ReviewItemEdge:
    node: ReviewItem
    cursor: str


@strawberry.type
class ReviewItemConnection:
    edges: list[ReviewItemEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class CriterionScoreInput:
    name: str
    score: float = strawberry.field(description="0..1")


@strawberry.input
class OverrideEssayScoreInput:
    essay_score_id: strawberry.ID
    score: float = strawberry.field(description="0..1: replaces the machine score in the result.")
    reason: str = strawberry.field(description="Why: kept with the override and in the audit.")
    rubric: list[CriterionScoreInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The human's per-criterion scores, if given."
    )


@strawberry.type
class OverrideEssayScorePayload:
    override: EssayScoreOverride | None = None
    assessment: Assessment | None = None
    job: Job | None = strawberry.field(
        default=None,
        description="Rebuilds the profile and recommendations; assessment.rescored follows.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
