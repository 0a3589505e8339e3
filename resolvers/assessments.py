"""The assessment lifecycle: start, answer, save responses, submit, and reading assessments."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from db.database import UnitOfWork
from db.pagination import Page
from db.repositories import assessments as assessments_repo
from db.repositories import audit
from db.repositories import forms as forms_repo
from db.repositories import jobs as jobs_repo
from db.repositories import questions as questions_repo
from db.tables import Assessment, AssessmentQuestion, Job
from db.types import utcnow
from domain import ids
from domain.answers import Answer, check_answer
from domain.composition import Composition, check_composition
from domain.errors import DomainError, ErrorCode, Problems, not_found, validation
from domain.lifecycle import Status, effective_status, ensure_answerable
from domain.questions import QuestionType
from domain.selection import known_tracks, select_questions
from jobs.dispatch import dispatch_after_commit
from resolvers.access import can_see_user
from resolvers.context import Caller, Context
from resolvers.loaders import forget

MAX_BATCH = 100
TRACK_MAX = 40


@dataclass(frozen=True)
class Started:
    assessment: Assessment
    reused: bool


@dataclass(frozen=True)
class Saved:
    saved: int
    assessment: Assessment
    job: Job | None
    problems: DomainError | None = None


def status_of(assessment: Assessment) -> Status:
    return effective_status(Status(assessment.status), assessment.expires_at, utcnow())


# ---------------------------------------------------------------- start


async def start(ctx: Context, *, track: str, composition: Composition | None) -> Started:
    caller = await ctx.require_caller()
    problems = Problems()
    track = track.strip().lower()
    if not 1 <= len(track) <= TRACK_MAX:
        problems.invalid("Choose a track such as general, data, web or security.", "input", "track")
    if composition is not None:
        check_composition(composition, problems, "input", "composition")
    problems.raise_if_any()

    async with ctx.read() as session:
        form = await forms_repo.get_or_default(session)
        pool = await questions_repo.active_pool(session)
        existing = await assessments_repo.open_draft(session, caller.id, track)
        seen = await assessments_repo.recently_seen_questions(session, caller.id)
    if existing is not None:
        if status_of(existing) is Status.DRAFT:
            return Started(existing, reused=True)
        await _expire(ctx, existing.id)

    tracks = known_tracks(pool)
    if track not in tracks:
        raise validation(
            f"Unknown track '{track}'. Tracks: {', '.join(sorted(tracks))}.", "input", "track"
        )
    wanted = composition or Composition.from_dict(form.composition_json)
    # Variety between students, not secrecy: a plain PRNG is right here.
    chosen = select_questions(pool, wanted, track, seen, random.Random())  # noqa: S311
    now = utcnow()
    assessment = Assessment(
        user_id=caller.id,
        track=track,
        composition_json=wanted.as_dict(),
        created_at=now,
        expires_at=now + timedelta(hours=form.expires_in_hours),
    )
    try:
        async with ctx.transaction() as uow:
            rows = await questions_repo.by_ids(uow.session, [c.id for c in chosen])
            await assessments_repo.add_with_questions(
                uow.session, assessment, [rows[c.id] for c in chosen]
            )
            await _audit(uow, ctx, caller, "assessment.start", assessment.id, {"track": track})
    except IntegrityError:
        # A concurrent start for the same track won the one-draft index: hand back its draft.
        async with ctx.read() as session:
            winner = await assessments_repo.open_draft(session, caller.id, track)
        if winner is None:
            raise
        return Started(winner, reused=True)
    return Started(assessment, reused=False)


async def _expire(ctx: Context, assessment_id: uuid.UUID) -> None:
    async with ctx.transaction() as uow:
        await assessments_repo.set_status(
            uow.session, assessment_id, {Status.DRAFT}, Status.EXPIRED
        )


async def _audit(
    uow: UnitOfWork,
    ctx: Context,
    caller: Caller,
    action: str,
    assessment_id: uuid.UUID,
    meta: dict[str, object] | None = None,
) -> None:
    await audit.record(
        uow.session,
        actor=caller.public_id,
        action=action,
        resource=ids.encode(ids.Kind.ASSESSMENT, assessment_id),
        subject_id=caller.id,
        request_id=ctx.request_id,
        meta=meta,
    )


# ---------------------------------------------------------------- answering


async def _own_assessment(ctx: Context, caller: Caller, public_id: str) -> Assessment:
    """The caller's own assessment. Anyone else's is NOT_FOUND, so existence is not revealed."""
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    if key is not None:
        async with ctx.read() as session:
            assessment = await assessments_repo.by_id(session, key)
        if assessment is not None and assessment.user_id == caller.id:
            return assessment
    raise not_found("Assessment", "input", "assessmentId")


async def _ensure_open(ctx: Context, assessment: Assessment) -> None:
    status = status_of(assessment)
    if status is Status.EXPIRED and assessment.status == Status.DRAFT.value:
        await _expire(ctx, assessment.id)
    ensure_answerable(status, "input", "assessmentId")


async def _store_answers(
    ctx: Context,
    assessment: Assessment,
    answers: Sequence[tuple[AssessmentQuestion, Answer]],
) -> None:
    async with ctx.transaction() as uow:
        locked = await assessments_repo.by_id_for_update(uow.session, assessment.id)
        # Re-checked under the lock: a submit may have landed since the first read.
        if locked is None:
            raise not_found("Assessment", "input", "assessmentId")
        ensure_answerable(status_of(locked), "input", "assessmentId")
        for question, answer in answers:
            await assessments_repo.save_response(uow.session, assessment.id, question.id, answer)
            if QuestionType(question.type) is QuestionType.ESSAY:
                job = await jobs_repo.add(
                    uow.session, "essay", assessment.id, {"assessmentQuestionId": str(question.id)}
                )
                dispatch_after_commit(uow, ctx.services.queue, job)


async def answer(
    ctx: Context, *, assessment_id: str, question_id: str, raw_answer: str
) -> tuple[Assessment, AssessmentQuestion | None]:
    caller = await ctx.require_caller()
    assessment = await _own_assessment(ctx, caller, assessment_id)
    await _ensure_open(ctx, assessment)
    questions = await _questions(ctx, assessment.id)
    question = _find(questions, question_id)
    if question is None:
        raise not_found("Question of this assessment", "input", "questionId")
    problems = Problems()
    checked = check_answer(
        raw_answer, assessments_repo.snapshot_rules(question), problems, "input", "answer"
    )
    problems.raise_if_any()
    assert checked is not None
    await _store_answers(ctx, assessment, [(question, checked)])
    return assessment, await next_unanswered(ctx, assessment.id, fresh=True)


async def save_responses(
    ctx: Context, *, assessment_id: str, responses: Sequence[tuple[str, str]], is_final: bool
) -> Saved:
    """All or nothing: one bad response rejects the batch, naming each bad index."""
    caller = await ctx.require_caller()
    assessment = await _own_assessment(ctx, caller, assessment_id)
    await _ensure_open(ctx, assessment)
    if len(responses) > MAX_BATCH:
        raise validation(f"At most {MAX_BATCH} responses per call.", "input", "responses")
    questions = await _questions(ctx, assessment.id)
    problems = Problems()
    checked: list[tuple[AssessmentQuestion, Answer]] = []
    seen: set[uuid.UUID] = set()
    for index, (question_id, raw) in enumerate(responses):
        path = ("input", "responses", str(index))
        question = _find(questions, question_id)
        if question is None:
            problems.add(
                ErrorCode.NOT_FOUND, "No such question in this assessment.", *path, "questionId"
            )
            continue
        if question.id in seen:
            problems.invalid("This question appears twice in the batch.", *path, "questionId")
            continue
        seen.add(question.id)
        answer_value = check_answer(
            raw, assessments_repo.snapshot_rules(question), problems, *path, "answer"
        )
        if answer_value is not None:
            checked.append((question, answer_value))
    problems.raise_if_any()
    if checked:
        await _store_answers(ctx, assessment, checked)
    if not is_final:
        return Saved(len(checked), assessment, None)
    try:
        submitted, job = await submit(ctx, assessment_id=assessment_id, allow_incomplete=False)
    except DomainError as exc:
        # The responses are saved; only the submit part failed. Say both.
        return Saved(len(checked), assessment, None, problems=exc)
    return Saved(len(checked), submitted, job)


def _find(questions: Sequence[AssessmentQuestion], public_id: str) -> AssessmentQuestion | None:
    key = ids.decode(ids.Kind.ASSESSMENT_QUESTION, public_id)
    return next((q for q in questions if q.id == key), None) if key else None


async def _questions(ctx: Context, assessment_id: uuid.UUID) -> list[AssessmentQuestion]:
    return await ctx.loaders.assessment_questions.load(assessment_id)


async def next_unanswered(
    ctx: Context, assessment_id: uuid.UUID, fresh: bool = False
) -> AssessmentQuestion | None:
    if fresh:
        forget(ctx.loaders.responses, assessment_id)
    answered = {r.assessment_question_id for r in await ctx.loaders.responses.load(assessment_id)}
    for question in await _questions(ctx, assessment_id):
        if question.id not in answered:
            return question
    return None


# ---------------------------------------------------------------- submit


async def submit(
    ctx: Context, *, assessment_id: str, allow_incomplete: bool
) -> tuple[Assessment, Job | None]:
    """Idempotent: a second call returns the first call's job and changes nothing."""
    caller = await ctx.require_caller()
    assessment = await _own_assessment(ctx, caller, assessment_id)
    status = status_of(assessment)
    if status is not Status.DRAFT:
        if status is Status.EXPIRED:
            await _ensure_open(ctx, assessment)
        return await _current(ctx, assessment.id)

    if not allow_incomplete:
        forget(ctx.loaders.responses, assessment.id)
        answered = {
            r.assessment_question_id for r in await ctx.loaders.responses.load(assessment.id)
        }
        missing = [q for q in await _questions(ctx, assessment.id) if q.id not in answered]
        if missing:
            raise DomainError.one(
                ErrorCode.INCOMPLETE,
                f"{len(missing)} question(s) are unanswered; answer them or submit with "
                "allowIncomplete: true.",
                [ids.encode(ids.Kind.ASSESSMENT_QUESTION, q.id) for q in missing],
            )

    async with ctx.transaction() as uow:
        won = await assessments_repo.set_status(
            uow.session, assessment.id, {Status.DRAFT}, Status.QUEUED, submitted_at=utcnow()
        )
        if won:
            job = await jobs_repo.add(uow.session, "pipeline", assessment.id)
            dispatch_after_commit(uow, ctx.services.queue, job)
            await _audit(
                uow, ctx, caller, "assessment.submit", assessment.id,
                {"allowIncomplete": allow_incomplete},
            )  # fmt: skip
    if not won:
        # Lost the race to a concurrent submit (or the draft expired meanwhile).
        refreshed, job_or_none = await _current(ctx, assessment.id)
        if status_of(refreshed) is Status.EXPIRED:
            ensure_answerable(Status.EXPIRED, "input", "assessmentId")
        return refreshed, job_or_none
    return await _current(ctx, assessment.id)


async def _current(ctx: Context, assessment_id: uuid.UUID) -> tuple[Assessment, Job | None]:
    async with ctx.read() as session:
        assessment = await assessments_repo.by_id(session, assessment_id)
        job = await jobs_repo.latest_for(session, assessment_id, "pipeline")
    assert assessment is not None
    forget(ctx.loaders.assessment, assessment_id)
    ctx.loaders.assessment.prime(assessment_id, assessment)
    return assessment, job


# ---------------------------------------------------------------- reads


async def can_see(ctx: Context, caller: Caller, assessment: Assessment) -> bool:
    return await can_see_user(ctx, caller, assessment.user_id)


async def visible(ctx: Context, public_id: str) -> Assessment | None:
    """Owner, their advisor and admins; null for anyone else (existence not revealed)."""
    caller = await ctx.require_caller()
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    if key is None:
        return None
    assessment: Assessment | None = await ctx.loaders.assessment.load(key)
    if assessment is None or not await can_see(ctx, caller, assessment):
        return None
    return assessment


async def mine(ctx: Context, first: int, after: str | None) -> Page[Assessment]:
    caller = await ctx.require_caller()
    return await of_user(ctx, caller.id, first, after, checked=True)


async def of_user(
    ctx: Context, user_id: uuid.UUID, first: int, after: str | None, checked: bool = False
) -> Page[Assessment]:
    if not checked:
        caller = await ctx.require_caller()
        if not await can_see_user(ctx, caller, user_id):
            raise DomainError.one(ErrorCode.NOT_FOUND, "User not found")
    async with ctx.read() as session:
        page = await assessments_repo.page_for_user(session, user_id, first, after)
    for item in page.items:
        ctx.loaders.assessment.prime(item.id, item)
    return page


async def next_question(ctx: Context, public_id: str) -> AssessmentQuestion | None:
    """FR3, for the owner of a draft; null otherwise."""
    caller = await ctx.require_caller()
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    if key is None:
        return None
    assessment = await ctx.loaders.assessment.load(key)
    if assessment is None or assessment.user_id != caller.id:
        return None
    return await next_unanswered(ctx, key)


async def assessment_question(ctx: Context, key: uuid.UUID) -> AssessmentQuestion | None:
    """For node(id:): a question of an assessment the caller may see."""
    caller = await ctx.require_caller()
    async with ctx.read() as session:
        question = await assessments_repo.question_by_id(session, key)
    if question is None:
        return None
    assessment = await ctx.loaders.assessment.load(question.assessment_id)
    if assessment is None or not await can_see(ctx, caller, assessment):
        return None
    return question


async def job(ctx: Context, key: uuid.UUID) -> Job | None:
    """For node(id:): a job of an assessment the caller may see, or any job for an admin."""
    caller = await ctx.require_caller()
    async with ctx.read() as session:
        row = await jobs_repo.by_id(session, key)
    if row is None:
        return None
    if caller.is_admin:
        return row
    if row.assessment_id is None:
        return None
    assessment = await ctx.loaders.assessment.load(row.assessment_id)
    return row if assessment is not None and await can_see(ctx, caller, assessment) else None
