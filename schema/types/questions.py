from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from db.tables import AssessmentForm as FormRow
from db.tables import Question as QuestionRow
from domain import ids
from domain.composition import Composition as DomainComposition
from domain.questions import Criterion, QuestionDraft
from domain.questions import QuestionType as DomainQuestionType
from domain.questions import Scale as DomainScale
from schema.errors import UserError
from schema.types.common import Node, PageInfo

strawberry.enum(DomainQuestionType, name="QuestionType")


@strawberry.type
class Option:
    key: str
    text: str


@strawberry.type
class Scale:
    min: int
    max: int
    min_label: str | None
    max_label: str | None

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Scale | None:
        if not raw:
            return None
        return cls(
            min=int(raw["min"]),
            max=int(raw["max"]),
            min_label=raw.get("minLabel"),
            max_label=raw.get("maxLabel"),
        )


@strawberry.type
class RubricCriterion:
    name: str
    description: str | None
    weight: float

    @classmethod
    def many(cls, raw: list[dict[str, Any]] | None) -> list[RubricCriterion] | None:
        if not raw:
            return None
        return [
            cls(name=c["name"], description=c.get("description"), weight=c["weight"]) for c in raw
        ]


def options_of(raw: list[dict[str, str]] | None) -> list[Option] | None:
    return [Option(key=o["key"], text=o["text"]) for o in raw] if raw else None


@strawberry.type(
    description="A question as the bank holds it (admins and advisors). Students only ever see "
    "AssessmentQuestion."
)
class Question(Node):
    id: strawberry.ID
    type: DomainQuestionType
    prompt: str
    domain: str
    tracks: list[str]
    difficulty: int | None
    options: list[Option] | None
    correct_option: str | None = strawberry.field(
        description="Key of the correct option (THEORETICAL only)."
    )
    rubric: list[RubricCriterion] | None
    reference_answer: str | None = strawberry.field(
        description="Reference answer and key points the essay scorer compares against "
        "(ESSAY only)."
    )
    key_points: list[str] | None
    scale: Scale | None
    interest_area: str | None = strawberry.field(
        description="Interest area a PROFILE item measures, e.g. data, web, ml, security, cloud."
    )
    active: bool
    created_at: datetime
    key: str | None = strawberry.field(description="Stable key of a seeded question.")

    @classmethod
    def from_row(cls, row: QuestionRow) -> Question:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.QUESTION, row.id)),
            type=DomainQuestionType(row.type),
            prompt=row.prompt,
            domain=row.domain,
            tracks=list(row.tracks_json or []),
            difficulty=row.difficulty,
            options=options_of(row.options_json),
            correct_option=(row.rules_json or {}).get("correct"),
            rubric=RubricCriterion.many(row.rubric_json),
            reference_answer=row.reference_answer,
            key_points=list(row.key_points_json) if row.key_points_json else None,
            scale=Scale.from_json(row.scale_json),
            interest_area=row.interest_area,
            active=row.active,
            created_at=row.created_at,
            key=row.key,
        )


@strawberry.type
class QuestionEdge:
    node: Question
    cursor: str


@strawberry.type
class QuestionConnection:
    edges: list[QuestionEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class RubricCriterionInput:
    name: str
    description: str | None = strawberry.UNSET
    weight: float | None = 1.0


@strawberry.input
class ScaleInput:
    min: int
    max: int
    min_label: str | None = strawberry.UNSET
    max_label: str | None = strawberry.UNSET


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


@strawberry.input
class QuestionInput:
    type: DomainQuestionType
    prompt: str
    domain: str
    tracks: list[str] | None = strawberry.field(default_factory=lambda: ["general"])
    difficulty: int | None = strawberry.UNSET
    options: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="THEORETICAL: option texts; keys A, B, C... are assigned in order.",
    )
    correct: str | None = strawberry.field(
        default=strawberry.UNSET,
        description='THEORETICAL: the correct option, given as its key ("B") or its exact text.',
    )
    rubric: list[RubricCriterionInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="ESSAY: defaults to clarity, accuracy, coherence with equal weight.",
    )
    reference_answer: str | None = strawberry.UNSET
    key_points: list[str] | None = strawberry.UNSET
    scale: ScaleInput | None = strawberry.field(
        default=strawberry.UNSET, description="PROFILE: defaults to 1..5."
    )
    interest_area: str | None = strawberry.UNSET
    active: bool | None = True

    def to_draft(self) -> QuestionDraft:
        rubric = _given(self.rubric)
        scale = _given(self.scale)
        return QuestionDraft(
            type=self.type,
            prompt=self.prompt,
            domain=self.domain,
            tracks=self.tracks,
            difficulty=_given(self.difficulty),
            options=_given(self.options),
            correct=_given(self.correct),
            rubric=(
                [
                    Criterion(
                        c.name,
                        _given(c.description),
                        1.0 if c.weight is None else float(c.weight),
                    )
                    for c in rubric
                ]
                if rubric
                else None
            ),
            reference_answer=_given(self.reference_answer),
            key_points=_given(self.key_points),
            scale=(
                DomainScale(scale.min, scale.max, _given(scale.min_label), _given(scale.max_label))
                if scale
                else None
            ),
            interest_area=_given(self.interest_area),
            active=True if self.active is None else self.active,
        )


@strawberry.type
class QuestionPayload:
    question: Question | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


# ---------------------------------------------------------------- forms


@strawberry.input
class CompositionInput:
    theoretical: int
    essay: int
    profile: int

    def to_domain(self) -> DomainComposition:
        return DomainComposition(self.theoretical, self.essay, self.profile)


@strawberry.type
class Composition:
    theoretical: int
    essay: int
    profile: int

    @classmethod
    def from_json(cls, raw: dict[str, int]) -> Composition:
        return cls(theoretical=raw["theoretical"], essay=raw["essay"], profile=raw["profile"])


@strawberry.type
class AssessmentForm:
    name: str
    composition: Composition
    expires_in_hours: int = strawberry.field(
        description="How long a started assessment stays open."
    )
    retake_cooldown_hours: int | None = strawberry.field(
        description="Hours between a student's attempts at one track with this form, from the "
        "start of the previous attempt; null uses the RETAKE_COOLDOWN_HOURS setting."
    )

    @classmethod
    def from_row(cls, row: FormRow) -> AssessmentForm:
        return cls(
            name=row.name,
            composition=Composition.from_json(row.composition_json),
            expires_in_hours=row.expires_in_hours,
            retake_cooldown_hours=row.retake_cooldown_hours,
        )


@strawberry.input
class AssessmentFormInput:
    name: str | None = "default"
    composition: CompositionInput
    expires_in_hours: int | None = strawberry.UNSET
    retake_cooldown_hours: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="0..8760; null: use the RETAKE_COOLDOWN_HOURS setting; left out: unchanged.",
    )


@strawberry.type
class AssessmentFormPayload:
    form: AssessmentForm | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
