"""The question bank and assessment forms (ADMIN writes; ADMIN and ADVISOR read the bank)."""

from __future__ import annotations

import uuid

from db.pagination import Page
from db.repositories import audit
from db.repositories import forms as forms_repo
from db.repositories import questions as questions_repo
from db.tables import AssessmentForm, Question
from db.types import utcnow
from domain import ids
from domain.composition import Composition, check_composition, check_expiry_hours
from domain.errors import DomainError, ErrorCode, Problems, not_found
from domain.questions import QuestionDraft, QuestionType, validate_question
from domain.retakes import check_cooldown_hours
from domain.roles import Role
from resolvers.assessments import forget_active_pool
from resolvers.context import Context

FORM_NAME_MAX = 60


def _question_ref(question: Question) -> str:
    return ids.encode(ids.Kind.QUESTION, question.id)


async def create_question(ctx: Context, draft: QuestionDraft) -> Question:
    caller = await ctx.require_caller(Role.ADMIN)
    spec = validate_question(draft, "input")
    async with ctx.transaction() as uow:
        question = await questions_repo.add(uow.session, spec)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="question.create",
            resource=_question_ref(question),
            request_id=ctx.request_id,
            meta={"type": spec.type.name, "domain": spec.domain},
        )
    forget_active_pool()
    return question


async def update_question(ctx: Context, public_id: str, draft: QuestionDraft) -> Question:
    """Replaces the question. Assessments already started keep their snapshot."""
    caller = await ctx.require_caller(Role.ADMIN)
    key = ids.decode(ids.Kind.QUESTION, public_id)
    if key is None:
        raise not_found("Question", "id")
    spec = validate_question(draft, "input")
    async with ctx.transaction() as uow:
        question = await questions_repo.by_id(uow.session, key)
        if question is None:
            raise not_found("Question", "id")
        if QuestionType(question.type) is not spec.type:
            raise DomainError.one(
                ErrorCode.VALIDATION_ERROR,
                "A question's type cannot change; create a new question instead.",
                ("input", "type"),
            )
        questions_repo.apply(question, spec)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="question.update",
            resource=public_id,
            request_id=ctx.request_id,
        )
    forget_active_pool()
    return question


async def set_question_active(ctx: Context, public_id: str, active: bool) -> Question:
    caller = await ctx.require_caller(Role.ADMIN)
    key = ids.decode(ids.Kind.QUESTION, public_id)
    if key is None:
        raise not_found("Question", "id")
    async with ctx.transaction() as uow:
        question = await questions_repo.by_id(uow.session, key)
        if question is None:
            raise not_found("Question", "id")
        if question.active != active:
            question.active = active
            question.updated_at = utcnow()
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="question.set_active",
            resource=public_id,
            request_id=ctx.request_id,
            meta={"active": active},
        )
    forget_active_pool()
    return question


async def questions(
    ctx: Context,
    *,
    type: QuestionType | None,
    domain: str | None,
    active: bool | None,
    first: int,
    after: str | None,
) -> Page[Question]:
    await ctx.require_caller(Role.ADMIN, Role.ADVISOR)
    async with ctx.read() as session:
        return await questions_repo.page(
            session, type=type, domain=domain, active=active, first=first, after=after
        )


async def question(ctx: Context, key: uuid.UUID) -> Question | None:
    """For node(id:): staff only; null for everyone else."""
    caller = await ctx.require_caller()
    if not caller.is_staff:
        return None
    async with ctx.read() as session:
        return await questions_repo.by_id(session, key)


# ---------------------------------------------------------------- forms


def _check_form_name(name: str, problems: Problems, *path: str) -> str:
    cleaned = name.strip().lower()
    if not 1 <= len(cleaned) <= FORM_NAME_MAX or not cleaned.replace("-", "").isalnum():
        problems.invalid(
            f"A form name is 1..{FORM_NAME_MAX} letters, digits or dashes.", *path, "name"
        )
    return cleaned


class Keep:
    """An input the caller left out: the stored value stays."""


KEEP = Keep()


async def set_form(
    ctx: Context,
    name: str,
    composition: Composition,
    expires_in_hours: int | None,
    retake_cooldown_hours: int | Keep | None = KEEP,
) -> AssessmentForm:
    """Create or replace a published form. `retake_cooldown_hours`: KEEP leaves it as stored,
    None uses the RETAKE_COOLDOWN_HOURS setting, a number overrides it for this form."""
    caller = await ctx.require_caller(Role.ADMIN)
    problems = Problems()
    form_name = _check_form_name(name, problems, "input")
    check_composition(composition, problems, "input", "composition")
    if expires_in_hours is not None:
        check_expiry_hours(expires_in_hours, problems, "input", "expiresInHours")
    if isinstance(retake_cooldown_hours, int) and (
        problem := check_cooldown_hours(retake_cooldown_hours)
    ):
        problems.invalid(problem, "input", "retakeCooldownHours")
    problems.raise_if_any()
    async with ctx.transaction() as uow:
        current = await forms_repo.get_or_default(uow.session, form_name)
        hours = expires_in_hours if expires_in_hours is not None else current.expires_in_hours
        cooldown = (
            current.retake_cooldown_hours
            if isinstance(retake_cooldown_hours, Keep)
            else retake_cooldown_hours
        )
        form, _ = await forms_repo.upsert(uow.session, form_name, composition, hours, cooldown)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="form.set",
            resource=f"form:{form_name}",
            request_id=ctx.request_id,
            meta={
                "composition": composition.as_dict(),
                "expiresInHours": hours,
                "retakeCooldownHours": cooldown,
            },
        )
    return form


async def form(ctx: Context, name: str) -> AssessmentForm | None:
    await ctx.require_caller()
    async with ctx.read() as session:
        if name.strip().lower() == "default":
            return await forms_repo.get_or_default(session)
        return await forms_repo.get(session, name.strip().lower())
