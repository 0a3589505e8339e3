"""Who may see whose data. One place, so every query and nested field applies the same rule,
and every advisor read of a student's data is audited (NFR6)."""

from __future__ import annotations

import uuid

from db.repositories import audit
from domain import ids
from resolvers.context import Caller, Context


async def can_see_user(
    ctx: Context, caller: Caller, user_id: uuid.UUID, resource: str | None = None
) -> bool:
    """Yourself; an admin anyone; an advisor their assigned students. `resource` names what
    is being read (the user by default), for the audit event an advisor's read leaves."""
    if caller.id == user_id or caller.is_admin:
        return True
    if caller.is_staff:
        advisor_id: uuid.UUID | None = await ctx.loaders.advisor_id.load(user_id)
        if advisor_id == caller.id:
            await _audit_advisor_read(ctx, caller, user_id, resource)
            return True
    return False


async def _audit_advisor_read(
    ctx: Context, caller: Caller, student_id: uuid.UUID, resource: str | None
) -> None:
    """Once per request, student and resource. Written in a transaction of its own: the read
    it records happens whatever the rest of the request does."""
    resource = resource or ids.encode(ids.Kind.USER, student_id)
    if (student_id, resource) in ctx.audited_reads:
        return
    ctx.audited_reads.add((student_id, resource))
    async with ctx.services.db.transaction() as uow:
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="advisor.read",
            resource=resource,
            subject_id=student_id,
            request_id=ctx.request_id,
        )
