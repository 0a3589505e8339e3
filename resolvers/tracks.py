"""Track blueprints: the public list, and the admin upsert."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from db.repositories import audit
from db.repositories import tracks as tracks_repo
from db.tables import Track
from domain.roles import Role
from domain.tracks import Blueprint, BlueprintDraft, validate_blueprint
from resolvers.context import Caller, Context


async def tracks(ctx: Context) -> list[Track]:
    """Public: a visitor picks a track before registering."""
    async with ctx.read() as session:
        return await tracks_repo.all_tracks(session)


async def upsert_track(ctx: Context, draft: BlueprintDraft) -> Track:
    """Creates the track, or replaces the blueprint of the one with the same name."""
    caller = await ctx.require_caller(Role.ADMIN)
    try:
        return await _upsert(ctx, caller, draft)
    except IntegrityError:
        # A concurrent upsert created the same name first: this one is now an update.
        return await _upsert(ctx, caller, draft)


async def _upsert(ctx: Context, caller: Caller, draft: BlueprintDraft) -> Track:
    async with ctx.transaction() as uow:
        # In the same transaction as the write: the domains are checked against the bank as
        # it is when the blueprint is saved.
        available = await tracks_repo.domains_with_scored_items(uow.session)
        blueprint: Blueprint = validate_blueprint(draft, available, "input")
        row, outcome = await tracks_repo.upsert(uow.session, blueprint)
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="track.upsert",
            resource=f"track:{row.name}",
            request_id=ctx.request_id,
            meta={"outcome": outcome},
        )
    return row
