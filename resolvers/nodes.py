"""node(id:): any object by its public id, if the caller may see it; null otherwise (existence
is not revealed)."""

from __future__ import annotations

from domain import ids
from resolvers import assessments, catalog, question_bank, results, webhooks
from resolvers.access import can_see_user
from resolvers.context import Context


async def node(ctx: Context, public_id: str) -> object | None:
    caller = await ctx.require_caller()
    kind = ids.kind_of(public_id)
    key = ids.decode(kind, public_id) if kind else None
    if kind is None or key is None:
        return None
    if kind is ids.Kind.USER:
        return await ctx.loaders.user.load(key) if await can_see_user(ctx, caller, key) else None
    if kind is ids.Kind.ASSESSMENT:
        return await assessments.visible(ctx, public_id)
    if kind is ids.Kind.ASSESSMENT_QUESTION:
        return await assessments.assessment_question(ctx, key)
    if kind is ids.Kind.QUESTION:
        return await question_bank.question(ctx, key)
    if kind is ids.Kind.JOB:
        return await assessments.job(ctx, key)
    if kind is ids.Kind.RECOMMENDATION_ITEM:
        return await results.item_node(ctx, key)
    if kind is ids.Kind.CREDENTIAL:
        return await catalog.credential(ctx, key)
    if kind is ids.Kind.WEBHOOK:
        if not caller.is_admin:
            return None
        return next((e for e in await webhooks.endpoints(ctx) if e.id == key), None)
    return None
