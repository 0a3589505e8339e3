from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from db.repositories.results import StoredResult
from db.tables import Credential as CredentialRow
from db.tables import EssayScoreOverride as EssayScoreOverrideRow
from db.tables import RagTrace as RagTraceRow
from db.tables import RecommendationItem
from domain import ids
from domain.essay_flags import EssayFlag, parse_flags
from domain.profile import Band
from domain.profile import SkillProfile as DomainProfile
from domain.stored_feedback import guarded
from resolvers.context import Context
from schema.errors import UserError
from schema.types.catalog import Credential
from schema.types.common import Node

strawberry.enum(
    EssayFlag,
    name="EssayFlag",
    description="What an essay was recognised as when it is not a genuine attempt at the "
    "question. A flagged essay scores at most 0.1 and goes to human review.",
)


@strawberry.enum
class ScorerKind(Enum):
    LLM = "llm"
    LOCAL = "local"


@strawberry.enum
class InterestLevel(Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@strawberry.enum
class ConfidenceLevel(Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@strawberry.type
class TheoreticalScore:
    correct: int
    total: int
    per_item: list[bool]


@strawberry.type
class CriterionScore:
    name: str
    score: float = strawberry.field(description="0..1")


@strawberry.type
class EssayScore:
    question_id: strawberry.ID
    score: float = strawberry.field(description="0..1")
    rubric: list[CriterionScore]
    scored_by: ScorerKind
    degraded: bool = strawberry.field(
        default=False,
        description="True when the fallback scorer stood in for an LLM that failed or was over "
        "budget.",
    )
    prompt_version: str | None = strawberry.field(
        default=None, description="Version of the scorer or prompt template that scored it."
    )
    essay_score_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The machine score this is (overrideEssayScore takes it); null when the "
        "essay was not answered.",
    )
    flags: list[EssayFlag] = strawberry.field(
        default_factory=list, description="Why the machine does not take this essay at face value."
    )
    needs_review: bool = strawberry.field(
        default=False,
        description="Flagged, or the LLM and the local scorer disagree by more than "
        "ESSAY_REVIEW_THRESHOLD, and no human has scored it yet.",
    )
    machine_score: float | None = strawberry.field(
        default=None, description="The machine's score, also when a human override replaced it."
    )
    local_score: float | None = strawberry.field(
        default=None, description="The local scorer's second opinion when the LLM scored it."
    )
    override: EssayScoreOverride | None = strawberry.field(
        default=None, description="The human score that replaced the machine's, if any."
    )
    _feedback: strawberry.Private[str | None] = None
    _assessment_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field
    async def feedback(self, info: strawberry.Info[Context, None]) -> str | None:
        """Checked against the question's answer key as it is read: a row stored before the
        feedback guard existed cannot reveal the key either."""
        if not self._feedback or self._assessment_id is None:
            return self._feedback
        key = ids.decode(ids.Kind.ASSESSMENT_QUESTION, str(self.question_id))
        questions = await info.context.loaders.assessment_questions.load(self._assessment_id)
        question = next((q for q in questions if q.id == key), None)
        if question is None:
            return None  # no key to check against: say nothing rather than risk it
        responses = await info.context.loaders.responses.load(self._assessment_id)
        answer = next((r.answer_text for r in responses if r.assessment_question_id == key), None)
        return guarded(
            self._feedback, prompt=question.prompt_snapshot,
            answer_key=question.answer_key_json or {}, answer=answer,
        )  # fmt: skip


@strawberry.type(description="A human's score replacing a machine score of an essay.")
class EssayScoreOverride:
    id: strawberry.ID
    score: float = strawberry.field(description="0..1")
    reason: str
    reviewer_id: strawberry.ID | None = strawberry.field(
        description="Who overrode it; null once their account was erased."
    )
    created_at: datetime

    @classmethod
    def from_item(cls, raw: dict[str, Any]) -> EssayScoreOverride:
        return cls(
            id=strawberry.ID(raw["id"]),
            score=float(raw["score"]),
            reason=str(raw.get("reason") or ""),
            reviewer_id=strawberry.ID(raw["reviewerId"]) if raw.get("reviewerId") else None,
            created_at=datetime.fromisoformat(raw["at"]),
        )

    @classmethod
    def from_row(cls, row: EssayScoreOverrideRow) -> EssayScoreOverride:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.ESSAY_OVERRIDE, row.id)),
            score=row.score,
            reason=row.reason,
            reviewer_id=(
                strawberry.ID(ids.encode(ids.Kind.USER, row.reviewer_id))
                if row.reviewer_id
                else None
            ),
            created_at=row.created_at,
        )


@strawberry.type
class InterestSignal:
    area: str
    level: InterestLevel
    value: int


@strawberry.type
class Scores:
    theoretical: TheoreticalScore
    essays: list[EssayScore]
    profile: list[InterestSignal]


@strawberry.type
class Confidence:
    level: ConfidenceLevel
    standard_error: float = strawberry.field(
        description="Standard error of the overall score (0..1 scale)."
    )
    interval: list[float] = strawberry.field(
        description="Lower and upper bound of a 90% interval for the overall score."
    )
    reasons: list[str] = strawberry.field(
        description="Why the confidence is what it is, e.g. 'networking rests on one item'."
    )


@strawberry.type
class DomainScore:
    domain: str
    score: float = strawberry.field(description="0..1")
    item_count: int
    confidence: ConfidenceLevel


@strawberry.type
class SkillProfile:
    assessment_id: strawberry.ID
    overall_score: float = strawberry.field(description="0..1")
    band: Band
    band_provisional: bool = strawberry.field(
        description="True when confidence is LOW: the band rests on too little evidence to act "
        "on, and students(band:) / students(weakIn:) skip this profile."
    )
    domains: list[DomainScore]
    strengths: list[str]
    improvements: list[str]
    confidence: Confidence
    interests: list[InterestSignal]

    @classmethod
    def from_domain(cls, assessment_id: uuid.UUID, profile: DomainProfile) -> SkillProfile:
        return cls(
            assessment_id=_assessment_ref(assessment_id),
            overall_score=profile.overall,
            band=profile.band,
            band_provisional=profile.band_provisional,
            domains=[
                DomainScore(
                    domain=d.domain,
                    score=d.score,
                    item_count=d.item_count,
                    confidence=ConfidenceLevel(d.confidence.value),
                )
                for d in profile.domains
            ],
            strengths=list(profile.strengths),
            improvements=list(profile.improvements),
            confidence=Confidence(
                level=ConfidenceLevel(profile.confidence.level.value),
                standard_error=profile.confidence.standard_error,
                interval=list(profile.confidence.interval),
                reasons=list(profile.confidence.reasons),
            ),
            interests=_interests(profile),
        )


def _interests(profile: DomainProfile) -> list[InterestSignal]:
    return [
        InterestSignal(area=s.area, level=InterestLevel(s.level.value), value=s.value)
        for s in profile.interests
    ]


def _assessment_ref(assessment_id: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(ids.encode(ids.Kind.ASSESSMENT, assessment_id))


@strawberry.type
class RagTrace:
    source: str
    snippet: str
    url: str | None
    score: float | None

    @classmethod
    def from_row(cls, row: RagTraceRow) -> RagTrace:
        return cls(
            source=row.source_title or "",
            snippet=row.snippet or "",
            url=row.source_url,
            score=float(row.score) if row.score is not None else None,
        )


@strawberry.type
class Recommendation(Node):
    id: strawberry.ID
    rank: int
    reason_short: str
    fit_score: float = strawberry.field(
        description="0..1, how well the credential fits the profile."
    )
    rag_trace: list[RagTrace]
    _item: strawberry.Private[RecommendationItem]
    _owner_id: strawberry.Private[uuid.UUID]
    # The credential row when the result's loader already read it (it does, for the ranking's
    # sake): one query fewer per result.
    _credential: strawberry.Private[CredentialRow | None] = None

    @classmethod
    def from_row(
        cls,
        item: RecommendationItem,
        traces: list[RagTraceRow],
        owner_id: uuid.UUID,
        credential: CredentialRow | None = None,
    ) -> Recommendation:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.RECOMMENDATION_ITEM, item.id)),
            rank=item.rank,
            reason_short=item.reason_short or "",
            fit_score=float(item.fit_score),
            rag_trace=[RagTrace.from_row(t) for t in traces],
            _item=item,
            _owner_id=owner_id,
            _credential=credential,
        )

    @strawberry.field
    async def credential(self, info: strawberry.Info[Context, None]) -> Credential:
        row = self._credential or await info.context.loaders.credential.load(
            self._item.credential_id
        )
        assert row is not None  # items reference credentials, which are never deleted
        return Credential.from_row(row)

    @strawberry.field(description="The caller's feedback, if any.")
    async def accepted(self, info: strawberry.Info[Context, None]) -> bool | None:
        caller = await info.context.caller()
        if caller is None:
            return None
        feedback = await info.context.loaders.feedback.load((caller.id, self._item.id))
        return feedback.accepted if feedback else None


@strawberry.type
class RecommendationBundle:
    assessment_id: strawberry.ID
    items: list[Recommendation]
    summary: str = strawberry.field(
        description="Fused explanation across essay, theoretical and profile signals."
    )
    degraded: bool
    generated_at: datetime

    @classmethod
    def from_stored(
        cls, assessment_id: uuid.UUID, owner_id: uuid.UUID, stored: StoredResult
    ) -> RecommendationBundle:
        return cls(
            assessment_id=_assessment_ref(assessment_id),
            items=[
                Recommendation.from_row(
                    item,
                    stored.traces.get(item.id, []),
                    owner_id,
                    stored.credentials.get(item.credential_id),
                )
                for item in stored.items
            ],
            summary=stored.recommendation.summary_text,
            degraded=stored.recommendation.degraded,
            generated_at=stored.recommendation.generated_at,
        )


def scores_of(stored: StoredResult) -> Scores:
    theory: dict[str, Any] = stored.score.theory_score_json
    essays = stored.score.essay_scores_json.get("essays", [])
    profile = DomainProfile.from_dict(stored.score.profile_json)
    return Scores(
        theoretical=TheoreticalScore(
            correct=int(theory.get("correct", 0)),
            total=int(theory.get("total", 0)),
            per_item=[bool(i["correct"]) for i in theory.get("perItem", [])],
        ),
        essays=[
            EssayScore(
                question_id=strawberry.ID(e["questionId"]),
                score=float(e["score"]),
                rubric=[
                    CriterionScore(name=c["name"], score=float(c["score"]))
                    for c in e.get("rubric", [])
                ],
                scored_by=ScorerKind(e.get("scoredBy", "local")),
                _feedback=e.get("feedback"),
                _assessment_id=stored.score.assessment_id,
                degraded=bool(e.get("degraded")),
                prompt_version=e.get("promptVersion"),
                essay_score_id=strawberry.ID(e["essayScoreId"]) if e.get("essayScoreId") else None,
                flags=list(parse_flags(e.get("flags"))),
                needs_review=bool(e.get("needsReview")),
                machine_score=(
                    float(e["machineScore"]) if e.get("machineScore") is not None else None
                ),
                local_score=float(e["localScore"]) if e.get("localScore") is not None else None,
                override=EssayScoreOverride.from_item(e["override"]) if e.get("override") else None,
            )
            for e in essays
        ],
        profile=_interests(profile),
    )


def profile_of(assessment_id: uuid.UUID, stored: StoredResult) -> SkillProfile:
    return SkillProfile.from_domain(
        assessment_id, DomainProfile.from_dict(stored.score.profile_json)
    )


@strawberry.type
class AssessmentResult:
    assessment_id: strawberry.ID
    scores: Scores
    profile: SkillProfile
    recommendations: RecommendationBundle
    degraded: bool
    generated_at: datetime

    @classmethod
    def from_stored(
        cls, assessment_id: uuid.UUID, owner_id: uuid.UUID, stored: StoredResult
    ) -> AssessmentResult:
        return cls(
            assessment_id=_assessment_ref(assessment_id),
            scores=scores_of(stored),
            profile=profile_of(assessment_id, stored),
            recommendations=RecommendationBundle.from_stored(assessment_id, owner_id, stored),
            degraded=stored.recommendation.degraded,
            generated_at=stored.recommendation.generated_at,
        )


@strawberry.input
class RecommendationFeedbackInput:
    recommendation_id: strawberry.ID
    accepted: bool
    comment: str | None = strawberry.UNSET


@strawberry.type
class RecommendationFeedbackPayload:
    recommendation: Recommendation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
