"""Advisors and administration of accounts: assignments, the students an advisor may see,
roles, and the audit trail."""

from __future__ import annotations

import uuid

from db.pagination import Page
from db.repositories import audit
from db.repositories import users as users_repo
from db.tables import AuditEvent, User
from domain import ids
from domain.errors import AccessDenied, not_found, validation
from domain.profile import Band
from domain.roles import Role
from resolvers.access import can_see_user
from resolvers.context import Context, forget_caller
from resolvers.loaders import forget

SEARCH_MAX = 200


def _user_key(public_id: str, field: str) -> uuid.UUID:
    key = ids.decode(ids.Kind.USER, public_id)
    if key is None:
        raise not_found("User", field)
    return key


async def assign_advisor(ctx: Context, student_public_id: str, advisor_public_id: str) -> None:
    caller = await ctx.require_caller(Role.ADMIN)
    student_id = _user_key(student_public_id, "studentId")
    advisor_id = _user_key(advisor_public_id, "advisorId")
    async with ctx.transaction() as uow:
        student = await users_repo.by_id(uow.session, student_id)
        advisor = await users_repo.by_id(uow.session, advisor_id)
        if student is None:
            raise not_found("User", "studentId")
        if advisor is None:
            raise not_found("User", "advisorId")
        if student.role != Role.STUDENT.value:
            raise validation("Only a student can have an advisor.", "studentId")
        if advisor.role != Role.ADVISOR.value:
            raise validation("That user is not an advisor.", "advisorId")
        previous = await users_repo.assign_advisor(uow.session, student_id, advisor_id)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="advisor.assign",
            resource=student_public_id,
            subject_id=student_id,
            request_id=ctx.request_id,
            meta={
                "advisor": advisor_public_id,
                "previous": ids.encode(ids.Kind.USER, previous) if previous else None,
            },
        )
    forget(ctx.loaders.advisor_id, student_id)


async def set_user_role(ctx: Context, public_id: str, role: Role) -> None:
    """Assignments the new role cannot hold are removed (only students have an advisor, only
    advisors advise). Effective at once: every request reads the caller's role from the
    database (cached for at most 5 s in other processes)."""
    caller = await ctx.require_caller(Role.ADMIN)
    user_id = _user_key(public_id, "userId")
    if user_id == caller.id:
        raise validation("You cannot change your own role; ask another admin.", "userId")
    async with ctx.transaction() as uow:
        user = await users_repo.by_id(uow.session, user_id)
        if user is None:
            raise not_found("User", "userId")
        before = user.role
        removed = await users_repo.set_role(uow.session, user, role.value)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="user.role",
            resource=public_id,
            subject_id=user_id,
            request_id=ctx.request_id,
            meta={"from": before, "to": role.value, "assignmentsRemoved": removed},
        )
    forget_caller(user_id)
    forget(ctx.loaders.user, user_id)
    forget(ctx.loaders.advisor_id, user_id)


async def students(
    ctx: Context,
    *,
    first: int,
    after: str | None,
    search: str | None,
    weak_in: str | None,
    band: Band | None,
) -> Page[User]:
    caller = await ctx.require_caller()
    if caller.role is Role.STUDENT:
        raise AccessDenied.forbidden("Only advisors and admins list students.")
    search = (search or "").strip()[:SEARCH_MAX] or None
    async with ctx.read() as session:
        page = await users_repo.students_page(
            session, advisor_id=None if caller.is_admin else caller.id, search=search,
            weak_in=(weak_in or "").strip().lower() or None,
            band=band.value if band else None, first=first, after=after,
        )  # fmt: skip
    for row in page.items:
        ctx.loaders.user.prime(row.id, row)
    return page


async def user(ctx: Context, public_id: str) -> User | None:
    """ADVISOR (their assigned students) and ADMIN; null otherwise, so that whether an id
    exists is not revealed. Students get FORBIDDEN: the query is not theirs (`me` is)."""
    caller = await ctx.require_caller()
    if caller.role is Role.STUDENT:
        raise AccessDenied.forbidden("Use `me` for your own account.")
    key = ids.decode(ids.Kind.USER, public_id)
    if key is None or not await can_see_user(ctx, caller, key):
        return None
    found: User | None = await ctx.loaders.user.load(key)
    return found


async def audit_events(
    ctx: Context, *, actor: str | None, action: str | None, first: int, after: str | None
) -> Page[AuditEvent]:
    await ctx.require_caller(Role.ADMIN)
    async with ctx.read() as session:
        return await audit.page(
            session, actor=(actor or "").strip() or None,
            action=(action or "").strip() or None, first=first, after=after,
        )  # fmt: skip
