"""Who may see whose data. One place, so every query and nested field applies the same rule."""

from __future__ import annotations

import uuid

from resolvers.context import Caller, Context


async def can_see_user(ctx: Context, caller: Caller, user_id: uuid.UUID) -> bool:
    """Yourself; an admin anyone; an advisor their assigned students."""
    if caller.id == user_id or caller.is_admin:
        return True
    if caller.is_staff:
        advisor_id: uuid.UUID | None = await ctx.loaders.advisor_id.load(user_id)
        return advisor_id == caller.id
    return False
