"""The assessment lifecycle: start, answer, save responses, submit, and reading assessments."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.database import UnitOfWork
from db.pagination import Page
from db.repositories import assessments as assessments_repo
from db.repositories import audit
from db.repositories import forms as forms_repo
from db.repositories import jobs as jobs_repo
from db.repositories import questions as questions_repo
from db.repositories import tracks as tracks_repo
from db.tables import Assessment, AssessmentQuestion, Job
from db.types import utcnow
from domain import ids
from domain.answers import Answer, check_answer
from domain.composition import Composition, check_composition
from domain.errors import AccessDenied, DomainError, ErrorCode, Problems, not_found, validation
from domain.lifecycle import Status, effective_status, ensure_answerable
from domain.questions import QuestionType
from domain.retakes import RetakePolicy
from domain.selection import Candidate, known_tracks, select_questions
from jobs.dispatch import dispatch_after_commit
from resolvers.access import can_see_user
from resolvers.context import Caller, Context
from resolvers.loaders import SNAPSHOTS, forget

MAX_BATCH = 100
TRACK_MAX = 40
FORM_MAX = 60


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


async def start(
    ctx: Context, *, track: str, composition: Composition | None, form_name: str = "default"
) -> Started:
    """A new assessment of `track` from the published form `form_name`, or the open draft.

    Students take a form as published: a composition that is not the form's is refused
    (FORBIDDEN). An admin may give one: the assessment is marked custom (a try-out, never
    counted in profiles, filters or analytics, and no retake). A counted start during the
    form's retake cooldown is RATE_LIMITED and saves nothing (domain/retakes.py)."""
    caller = await ctx.require_caller()
    problems = Problems()
    track = track.strip().lower()
    form_name = form_name.strip().lower()
    # isprintable: the track is looked up before it is known to exist, and PostgreSQL refuses a
    # NUL in a query parameter (that was an INTERNAL error).
    if not 1 <= len(track) <= TRACK_MAX or not track.isprintable():
        problems.invalid("Choose a track such as general, data, web or security.", "input", "track")
    if not 1 <= len(form_name) <= FORM_MAX or not form_name.isprintable():
        problems.invalid("Choose a published form, such as default.", "input", "form")
    if composition is not None:
        check_composition(composition, problems, "input", "composition")
    problems.raise_if_any()

    async with ctx.read() as session:
        form = await forms_repo.get(session, form_name)
        if form is None and form_name == "default":
            form = await forms_repo.get_or_default(session)
        if form is None:
            published = ", ".join(await forms_repo.published_names(session))
            raise validation(
                f"Unknown form '{form_name}'. Published forms: {published}.", "input", "form"
            )
        custom = composition is not None and composition != Composition.from_dict(
            form.composition_json
        )
        if custom and not caller.is_admin:
            published = ", ".join(await forms_repo.published_names(session))
            raise AccessDenied.forbidden(
                "Students take an assessment from a published form as it is: leave out "
                f"composition and choose a form ({published}). Only admins may set their own "
                "composition."
            )
        pool = await active_pool(ctx, session)
        blueprints = await tracks_repo.blueprints(session)
        existing = await assessments_repo.open_draft(session, caller.id, track)
        seen = await assessments_repo.seen_history(session, caller.id)
        # A custom try-out is no retake: nothing to look up for it.
        last_start = (
            None
            if custom
            else await assessments_repo.last_counted_start(session, caller.id, track, form.name)
        )
    if existing is not None:
        if status_of(existing) is Status.DRAFT:
            return Started(existing, reused=True)
        await _expire(ctx, existing.id)

    # A track with a blueprint, or (until an admin gives it one) a track questions are tagged
    # with: the latter keeps the broad spread (domain/selection.py).
    tracks = known_tracks(pool) | set(blueprints)
    if track not in tracks:
        raise validation(
            f"Unknown track '{track}'. Tracks: {', '.join(sorted(tracks))}.", "input", "track"
        )
    now = utcnow()
    if not custom:
        policy = RetakePolicy.of(
            form.retake_cooldown_hours, ctx.services.settings.retake_cooldown_hours
        )
        policy.check(last_start, now, "input", "form")
    wanted = composition or Composition.from_dict(form.composition_json)
    # Variety between students, not secrecy: a plain PRNG is right here.
    rng = random.Random()  # noqa: S311
    chosen = select_questions(pool, wanted, track, seen, rng, blueprints.get(track))
    assessment = Assessment(
        user_id=caller.id,
        track=track,
        form_name=form.name,
        custom=custom,
        composition_json=wanted.as_dict(),
        created_at=now,
        expires_at=now + timedelta(hours=form.expires_in_hours),
    )
    try:
        async with ctx.transaction() as uow:
            rows = await questions_repo.by_ids(uow.session, [c.id for c in chosen])
            snapshots = await assessments_repo.add_with_questions(
                uow.session, assessment, [rows[c.id] for c in chosen]
            )
            await _audit(
                uow, ctx, caller, "assessment.start", assessment.id,
                {"track": track, "form": form.name, "custom": custom},
            )  # fmt: skip
    except IntegrityError:
        # A concurrent start for the same track won the one-draft index: hand back its draft.
        async with ctx.read() as session:
            winner = await assessments_repo.open_draft(session, caller.id, track)
        if winner is None:
            raise
        return Started(winner, reused=True)
    SNAPSHOTS.put(assessment.id, snapshots)  # the answers that follow need them at once
    # What the payload shows: a new assessment has no responses yet.
    ctx.loaders.assessment.prime(assessment.id, assessment)
    ctx.loaders.responses.prime(assessment.id, [])
    return Started(assessment, reused=False)


# The bank is read-mostly and small, and every start reads all of it: each process keeps it for
# a few seconds. Edits in this process drop it at once; other processes see them within the TTL.
POOL_TTL_SECONDS = 5.0
_pool_cache: dict[int, tuple[float, list[Candidate]]] = {}


async def active_pool(ctx: Context, session: AsyncSession) -> list[Candidate]:
    key = id(ctx.services.db)
    cached = _pool_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < POOL_TTL_SECONDS:
        return cached[1]
    pool = await questions_repo.active_pool(session)
    _pool_cache[key] = (time.monotonic(), pool)
    return pool


def forget_active_pool() -> None:
    _pool_cache.clear()


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


Prepare = Callable[[Sequence[AssessmentQuestion]], list[tuple[AssessmentQuestion, Answer]]]


async def _store_answers(
    ctx: Context, caller: Caller, public_id: str, prepare: Prepare
) -> Assessment:
    """Ownership, state, validation and the write, in one transaction.

    The row is locked first, so a concurrent submit cannot slip between the check and the
    write; someone else's assessment is NOT_FOUND before anything about the answers is said.
    `prepare` validates the answers against the snapshots (raising leaves nothing written).
    """
    key = ids.decode(ids.Kind.ASSESSMENT, public_id)
    if key is None:
        raise not_found("Assessment", "input", "assessmentId")
    questions = await _questions(ctx, key)
    expired = False
    async with ctx.transaction() as uow:
        locked = await assessments_repo.by_id_for_update(uow.session, key)
        if locked is None or locked.user_id != caller.id:
            raise not_found("Assessment", "input", "assessmentId")
        status = status_of(locked)
        if status is Status.EXPIRED and locked.status == Status.DRAFT.value:
            # Written down now (the sweeper would later); the error follows the commit.
            await assessments_repo.set_status(uow.session, key, {Status.DRAFT}, Status.EXPIRED)
            expired = True
        else:
            ensure_answerable(status, "input", "assessmentId")
            for question, answer in prepare(questions):
                await assessments_repo.save_response(uow.session, key, question.id, answer)
                # Local scoring runs per essay right away, so the result is ready at submit;
                # an LLM scores all essays in one call at submit, which is cheaper.
                if (
                    QuestionType(question.type) is QuestionType.ESSAY
                    and not ctx.services.llm.configured
                ):
                    job = await jobs_repo.add(
                        uow.session, "essay", key, {"assessmentQuestionId": str(question.id)}
                    )
                    dispatch_after_commit(uow, ctx.services.queue, job)
            # Read back in the same transaction what the payload shows next (the next
            # question, the answered count): no second session for it.
            saved = await assessments_repo.responses_for(uow.session, [key])
    if expired:
        ensure_answerable(Status.EXPIRED, "input", "assessmentId")
    forget(ctx.loaders.responses, key)
    ctx.loaders.responses.prime(key, saved[key])
    forget(ctx.loaders.assessment, key)
    ctx.loaders.assessment.prime(key, locked)
    return locked


async def answer(
    ctx: Context, *, assessment_id: str, question_id: str, raw_answer: str
) -> tuple[Assessment, AssessmentQuestion | None]:
    caller = await ctx.require_caller()

    def prepare(questions: Sequence[AssessmentQuestion]) -> list[tuple[AssessmentQuestion, Answer]]:
        question = _find(questions, question_id)
        if question is None:
            raise not_found("Question of this assessment", "input", "questionId")
        problems = Problems()
        checked = check_answer(
            raw_answer, assessments_repo.snapshot_rules(question), problems, "input", "answer"
        )
        problems.raise_if_any()
        assert checked is not None
        return [(question, checked)]

    assessment = await _store_answers(ctx, caller, assessment_id, prepare)
    return assessment, await next_unanswered(ctx, assessment.id)


async def save_responses(
    ctx: Context, *, assessment_id: str, responses: Sequence[tuple[str, str]], is_final: bool
) -> Saved:
    """All or nothing: one bad response rejects the batch, naming each bad index."""
    caller = await ctx.require_caller()
    if len(responses) > MAX_BATCH:
        # Said before anything else: a request this large is refused whoever sends it.
        raise validation(f"At most {MAX_BATCH} responses per call.", "input", "responses")

    def prepare(questions: Sequence[AssessmentQuestion]) -> list[tuple[AssessmentQuestion, Answer]]:
        problems = Problems()
        checked: list[tuple[AssessmentQuestion, Answer]] = []
        seen: set[uuid.UUID] = set()
        for index, (question_id, raw) in enumerate(responses):
            path = ("input", "responses", str(index))
            question = _find(questions, question_id)
            if question is None:
                problems.add(
                    ErrorCode.NOT_FOUND, "No such question in this assessment.", *path,
                    "questionId",
                )  # fmt: skip
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
        return checked

    assessment = await _store_answers(ctx, caller, assessment_id, prepare)
    saved = len(responses)
    if not is_final:
        return Saved(saved, assessment, None)
    try:
        submitted, job = await submit(ctx, assessment_id=assessment_id, allow_incomplete=False)
    except DomainError as exc:
        # The responses are saved; only the submit part failed. Say both.
        return Saved(saved, assessment, None, problems=exc)
    return Saved(saved, submitted, job)


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
    """Idempotent: a second call returns the first call's job and changes nothing.

    One transaction: the row is locked (concurrent submits queue behind each other), checked,
    and on success moved to QUEUED with its outbox job, enqueued after the commit."""
    caller = await ctx.require_caller()
    key = ids.decode(ids.Kind.ASSESSMENT, assessment_id)
    if key is None:
        raise not_found("Assessment", "input", "assessmentId")
    questions = await _questions(ctx, key)
    expired = queued = False
    job: Job | None = None
    now = utcnow()
    async with ctx.transaction() as uow:
        locked = await assessments_repo.by_id_for_update(uow.session, key)
        if locked is None or locked.user_id != caller.id:
            raise not_found("Assessment", "input", "assessmentId")
        status = status_of(locked)
        if status is Status.EXPIRED:
            if locked.status == Status.DRAFT.value:
                await assessments_repo.set_status(uow.session, key, {Status.DRAFT}, Status.EXPIRED)
            expired = True
        elif status is not Status.DRAFT:
            job = await jobs_repo.latest_for(uow.session, key, "pipeline")
        else:
            if not allow_incomplete:
                saved = await assessments_repo.responses_for(uow.session, [key])
                answered = {r.assessment_question_id for r in saved[key]}
                missing = [q for q in questions if q.id not in answered]
                if missing:
                    # field is an input path, as for every UserError; the questions are named
                    # in the message (submitAssessment and saveResponses both take the id).
                    unanswered = ", ".join(
                        ids.encode(ids.Kind.ASSESSMENT_QUESTION, q.id) for q in missing
                    )
                    raise DomainError.one(
                        ErrorCode.INCOMPLETE,
                        f"{len(missing)} question(s) are unanswered ({unanswered}); answer them "
                        "or submit with allowIncomplete: true.",
                        ["input", "assessmentId"],
                    )
            await assessments_repo.set_status(
                uow.session, key, {Status.DRAFT}, Status.QUEUED, submitted_at=now
            )
            job = await jobs_repo.add(uow.session, "pipeline", key)
            dispatch_after_commit(uow, ctx.services.queue, job)
            await _audit(
                uow, ctx, caller, "assessment.submit", key, {"allowIncomplete": allow_incomplete}
            )
            queued = True
    if queued:
        # The row was changed by a statement, not through the object: bring the object up to
        # date now that it is detached (so this writes nothing).
        locked.status, locked.submitted_at = Status.QUEUED.value, now
    if expired:
        ensure_answerable(Status.EXPIRED, "input", "assessmentId")
    forget(ctx.loaders.assessment, key)
    ctx.loaders.assessment.prime(key, locked)
    return locked, job


# ---------------------------------------------------------------- reads


async def can_see(ctx: Context, caller: Caller, assessment: Assessment) -> bool:
    resource = ids.encode(ids.Kind.ASSESSMENT, assessment.id)
    return await can_see_user(ctx, caller, assessment.user_id, resource)


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
