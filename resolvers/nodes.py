"""node(id:): any object by its public id, if the caller may see it; null otherwise (existence
is not revealed)."""

from __future__ import annotations

from domain import ids
from resolvers.access import can_see_user
from resolvers.context import Context


async def node(ctx: Context, public_id: str) -> object | None:
    caller = await ctx.require_caller()
    kind = ids.kind_of(public_id)
    if kind is None:
        return None
    key = ids.decode(kind, public_id)
    if key is None:
        return None
    if kind is ids.Kind.USER:
        if not await can_see_user(ctx, caller, key):
            return None
        return await ctx.loaders.user.load(key)
    return None
