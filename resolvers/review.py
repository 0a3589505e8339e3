"""Human review of essay scores: the queue of essays the machine is unsure about, and the
override that replaces a machine score with a human one (issue 12, point 4).

Who: an ADVISOR for their assigned students, an ADMIN for everyone. An essay score of anyone
else is NOT_FOUND, exactly as an id that does not exist, so its existence is not revealed."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from db.pagination import Page
from db.repositories import assessments as assessments_repo
from db.repositories import audit
from db.repositories import essay_scores as essay_scores_repo
from db.repositories import jobs as jobs_repo
from db.tables import Assessment, AssessmentQuestion, EssayScore, EssayScoreOverride, Job, User
from domain import ids
from domain.errors import DomainError, ErrorCode, Problems, not_found
from domain.lifecycle import Status
from domain.roles import Role
from domain.text import clean_text
from jobs.dispatch import dispatch_after_commit
from resolvers.access import can_see_user
from resolvers.context import Caller, Context

REASON_MAX = 2000


@dataclass(frozen=True)
class ReviewEntry:
    score: EssayScore
    question: AssessmentQuestion
    answer: str
    assessment: Assessment
    student: User


@dataclass(frozen=True)
class CriterionInput:
    name: str
    score: float


async def review_queue(ctx: Context, *, first: int, after: str | None) -> Page[ReviewEntry]:
    """Essays needing review and not overridden yet, oldest first."""
    caller = await ctx.require_caller(Role.ADVISOR, Role.ADMIN)
    async with ctx.read() as session:
        page = await essay_scores_repo.review_queue(
            session, advisor_id=None if caller.is_admin else caller.id, first=first, after=after
        )
        questions, responses, assessments = await essay_scores_repo.review_rows(session, page.items)
    entries: list[ReviewEntry] = []
    cursors: list[str] = []
    for row, cursor in zip(page.items, page.cursors, strict=True):
        assessment = assessments[row.assessment_id]
        student = await ctx.loaders.user.load(assessment.user_id)
        # Leaves the advisor.read audit event every advisor read of a student's data leaves.
        if student is None or not await can_see_user(
            ctx, caller, student.id, ids.encode(ids.Kind.ESSAY_SCORE, row.id)
        ):
            continue
        response = responses.get(row.assessment_question_id)
        cursors.append(cursor)
        entries.append(
            ReviewEntry(
                row, questions[row.assessment_question_id],
                (response.answer_text if response else None) or "", assessment, student,
            )
        )  # fmt: skip
    return Page(entries, cursors, page.has_next_page, page.total_count)


async def _may_review(ctx: Context, caller: Caller, student_id: uuid.UUID) -> bool:
    if caller.is_admin:
        return True
    advisor_id: uuid.UUID | None = await ctx.loaders.advisor_id.load(student_id)
    return advisor_id == caller.id


def _checked(
    score: float, reason: str | None, rubric: list[CriterionInput] | None
) -> tuple[str, list[dict[str, object]] | None]:
    problems = Problems()
    if not math.isfinite(score) or not 0.0 <= score <= 1.0:
        problems.invalid("A score is between 0 and 1.", "input", "score")
    text = clean_text(reason)
    if not text:
        problems.invalid("Say why the machine score is replaced.", "input", "reason")
    elif len(text) > REASON_MAX:
        problems.invalid(f"A reason has at most {REASON_MAX} characters.", "input", "reason")
    for index, criterion in enumerate(rubric or []):
        if not math.isfinite(criterion.score) or not 0.0 <= criterion.score <= 1.0:
            problems.invalid("A criterion score is between 0 and 1.", "input", "rubric",
                             str(index), "score")  # fmt: skip
    problems.raise_if_any()
    stored = [{"name": c.name.strip(), "score": c.score} for c in rubric] if rubric else None
    return text, stored


async def override_essay_score(
    ctx: Context,
    *,
    essay_score_id: str,
    score: float,
    reason: str | None,
    rubric: list[CriterionInput] | None,
) -> tuple[EssayScoreOverride, Assessment, Job]:
    """Records the human score (the machine's stays in the history) and queues the rebuild of
    the result through the re-scoring job (jobs/rescoring.py), which also notifies."""
    caller = await ctx.require_caller(Role.ADVISOR, Role.ADMIN)
    text, stored_rubric = _checked(score, reason, rubric)
    missing = not_found("Essay score", "input", "essayScoreId")
    key = ids.decode(ids.Kind.ESSAY_SCORE, essay_score_id)
    if key is None:
        raise missing
    async with ctx.read() as session:
        row = await essay_scores_repo.by_id(session, key)
        owner = await assessments_repo.by_id(session, row.assessment_id) if row else None
    if row is None or owner is None or not await _may_review(ctx, caller, owner.user_id):
        raise missing
    async with ctx.transaction() as uow:
        session = uow.session
        assessment = await assessments_repo.by_id_for_update(session, row.assessment_id)
        if assessment is None:
            raise missing
        if assessment.status != Status.DONE.value:
            raise DomainError.one(
                ErrorCode.INVALID_STATE,
                "Only the essays of a DONE assessment can be reviewed.",
                ("input", "essayScoreId"),
            )
        if not await essay_scores_repo.is_current(session, row):
            raise DomainError.one(
                ErrorCode.INVALID_STATE,
                "A newer score of this essay exists; review that one.",
                ("input", "essayScoreId"),
            )
        question = await assessments_repo.question_by_id(session, row.assessment_question_id)
        names = {c["name"] for c in (question.rubric_snapshot if question else None) or []}
        names |= {c["name"] for c in row.rubric_json}
        unknown = [c["name"] for c in stored_rubric or [] if c["name"] not in names]
        if unknown:
            raise DomainError.one(
                ErrorCode.VALIDATION_ERROR,
                f"Not a criterion of this essay: {', '.join(map(str, unknown))}.",
                ("input", "rubric"),
            )
        override = await essay_scores_repo.add_override(
            session, row, reviewer_id=caller.id, score=score, rubric=stored_rubric, reason=text
        )
        public_override = ids.encode(ids.Kind.ESSAY_OVERRIDE, override.id)
        job = await jobs_repo.add(session, "rescore", assessment.id, {"override": public_override})
        dispatch_after_commit(uow, ctx.services.queue, job)
        await audit.record(
            session,
            actor=caller.public_id,
            action="essay.override",
            resource=essay_score_id,
            subject_id=assessment.user_id,
            request_id=ctx.request_id,
            meta={
                "assessment": ids.encode(ids.Kind.ASSESSMENT, assessment.id),
                "override": public_override,
                "machineScore": row.score,
                "scoredBy": row.scored_by,
                "score": score,
                "reason": text,
            },
        )
    return override, assessment, job
