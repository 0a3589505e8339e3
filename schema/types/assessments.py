from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.tables import Assessment as AssessmentRow
from db.tables import AssessmentQuestion as AssessmentQuestionRow
from db.tables import Job as JobRow
from domain import ids
from domain.lifecycle import Status
from domain.questions import QuestionType
from resolvers import assessments as assessment_resolvers
from resolvers.context import Context
from schema.errors import UserError
from schema.types.common import Node, PageInfo
from schema.types.questions import (
    Composition,
    CompositionInput,
    Option,
    RubricCriterion,
    Scale,
    options_of,
)
from schema.types.users import User

if TYPE_CHECKING:
    from schema.types.progress import AssessmentProgress
    from schema.types.results import AssessmentResult

strawberry.enum(Status, name="AssessmentStatus")


def _answer_text(response: object) -> str | None:
    option = getattr(response, "answer_option", None)
    if option is not None:
        return str(option)
    number = getattr(response, "answer_numeric", None)
    if number is not None:
        return str(int(number))
    text = getattr(response, "answer_text", None)
    return str(text) if text is not None else None


@strawberry.type(
    description="A question as one assessment holds it: a snapshot, unaffected by later bank "
    "edits. Never exposes the answer key."
)
class AssessmentQuestion(Node):
    id: strawberry.ID
    order_no: int
    type: QuestionType
    prompt: str
    domain: str
    options: list[Option] | None
    rubric: list[RubricCriterion] | None
    scale: Scale | None
    _row: strawberry.Private[AssessmentQuestionRow]

    @classmethod
    def from_row(cls, row: AssessmentQuestionRow) -> AssessmentQuestion:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.ASSESSMENT_QUESTION, row.id)),
            order_no=row.order_no,
            type=QuestionType(row.type),
            prompt=row.prompt_snapshot,
            domain=row.domain,
            options=options_of(row.options_snapshot),
            rubric=RubricCriterion.many(row.rubric_snapshot),
            scale=Scale.from_json(row.scale_snapshot),
            _row=row,
        )

    async def _response(self, info: strawberry.Info[Context, None]) -> object | None:
        responses = await info.context.loaders.responses.load(self._row.assessment_id)
        return next((r for r in responses if r.assessment_question_id == self._row.id), None)

    @strawberry.field
    async def answered(self, info: strawberry.Info[Context, None]) -> bool:
        return await self._response(info) is not None

    @strawberry.field(
        description="The caller's saved answer, as text (option key, essay text, or the scale "
        "value)."
    )
    async def answer(self, info: strawberry.Info[Context, None]) -> str | None:
        caller = await info.context.caller()
        assessment = await info.context.loaders.assessment.load(self._row.assessment_id)
        if caller is None or assessment is None or assessment.user_id != caller.id:
            return None
        return _answer_text(await self._response(info))


@strawberry.type
class Job(Node):
    id: strawberry.ID
    type: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.JOB, row.id)),
            type=row.type,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class Assessment(Node):
    id: strawberry.ID
    track: str
    status: Status
    composition: Composition
    created_at: datetime
    expires_at: datetime
    submitted_at: datetime | None
    completed_at: datetime | None
    form: str = strawberry.field(description="The published form it was started from.")
    custom: bool = strawberry.field(
        description="An admin's try-out with a composition that is not its form's: never "
        "counted in latestProfile, students(band:, weakIn:) or analytics, and no retake."
    )
    _row: strawberry.Private[AssessmentRow]

    @classmethod
    def from_row(cls, row: AssessmentRow) -> Assessment:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.ASSESSMENT, row.id)),
            track=row.track,
            status=assessment_resolvers.status_of(row),
            composition=Composition.from_json(row.composition_json),
            created_at=row.created_at,
            expires_at=row.expires_at,
            submitted_at=row.submitted_at,
            completed_at=row.completed_at,
            form=row.form_name,
            custom=row.custom,
            _row=row,
        )

    @strawberry.field
    async def owner(self, info: strawberry.Info[Context, None]) -> User:
        row = await info.context.loaders.user.load(self._row.user_id)
        assert row is not None  # the foreign key cascades
        return User.from_row(row)

    @strawberry.field
    async def questions(self, info: strawberry.Info[Context, None]) -> list[AssessmentQuestion]:
        rows = await info.context.loaders.assessment_questions.load(self._row.id)
        return [AssessmentQuestion.from_row(r) for r in rows]

    @strawberry.field
    async def answered_count(self, info: strawberry.Info[Context, None]) -> int:
        return len(await info.context.loaders.responses.load(self._row.id))

    @strawberry.field
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        return len(await info.context.loaders.assessment_questions.load(self._row.id))

    @strawberry.field(description="Null until the pipeline finished (DONE).")
    async def result(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[AssessmentResult, strawberry.lazy("schema.types.results")] | None:
        from resolvers import results as result_resolvers
        from schema.types.results import AssessmentResult

        stored = await result_resolvers.stored(info.context, self._row)
        if stored is None:
            return None
        return AssessmentResult.from_stored(self._row.id, self._row.user_id, stored)

    @strawberry.field
    async def progress(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[AssessmentProgress, strawberry.lazy("schema.types.progress")]:
        from resolvers import progress as progress_resolvers
        from schema.types.progress import AssessmentProgress

        progress = await progress_resolvers.of_assessment(info.context, self._row)
        return AssessmentProgress.from_domain(self._row.id, progress)


@strawberry.type
class AssessmentEdge:
    node: Assessment
    cursor: str


@strawberry.type
class AssessmentConnection:
    edges: list[AssessmentEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class StartAssessmentInput:
    track: str | None = strawberry.field(
        default="general",
        description="general, or a role track such as data, web, cloud, security, software.",
    )
    form: str | None = strawberry.field(
        default="default",
        description="The published form to take (assessmentForm(name:) shows one; an unknown "
        "name is refused with the published forms named). Its composition, expiry and retake "
        "cooldown apply.",
    )
    composition: CompositionInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="ADMIN only: a composition that is not the form's makes the assessment "
        "custom (a try-out, never counted in profiles, student filters or analytics). "
        "Students leave it out (FORBIDDEN otherwise) and get the form's composition.",
    )


@strawberry.type
class StartAssessmentPayload:
    assessment: Assessment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    reused: bool = strawberry.field(
        default=False,
        description="True when an open draft for this track already existed and is returned "
        "instead of a new assessment (a student has at most one draft per track).",
    )


@strawberry.input
class AnswerInput:
    assessment_id: strawberry.ID
    question_id: strawberry.ID = strawberry.field(description="An AssessmentQuestion id (aq_...).")
    answer: str = strawberry.field(
        description="Option key for THEORETICAL, essay text for ESSAY, the integer as text for "
        "PROFILE."
    )


@strawberry.type
class AnswerPayload:
    assessment: Assessment | None = None
    next_question: AssessmentQuestion | None = strawberry.field(
        default=None, description="The next unanswered question, null when all are answered."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ResponseInput:
    question_id: strawberry.ID
    answer: str


@strawberry.input
class SaveResponsesInput:
    assessment_id: strawberry.ID
    responses: list[ResponseInput]
    is_final_chunk: bool | None = strawberry.field(
        default=False,
        description="When true the assessment is submitted after the responses are saved.",
    )


@strawberry.type
class SaveResponsesPayload:
    saved: int = 0
    assessment: Assessment | None = None
    job: Job | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SubmitAssessmentInput:
    assessment_id: strawberry.ID
    allow_incomplete: bool | None = strawberry.field(
        default=False,
        description="Submit even if some questions are unanswered (they score 0 and lower the "
        "confidence).",
    )


@strawberry.type
class SubmitAssessmentPayload:
    assessment: Assessment | None = None
    job: Job | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
