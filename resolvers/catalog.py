"""The credential catalog: ADMIN upserts and (de)activates credentials; any signed-in user lists
the active ones. Every change asks for a re-index of the changed credential in the same
transaction, so the vector index cannot miss an edit that was committed."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from db.database import UnitOfWork
from db.pagination import Page, check_first
from db.repositories import audit
from db.repositories import catalog as catalog_repo
from db.tables import Credential
from domain import ids
from domain.catalog import CredentialDraft, CredentialSpec, validate_credential
from domain.errors import not_found
from domain.roles import Role
from jobs.rag_index import request_reindex
from resolvers.context import Caller, Context
from resolvers.loaders import forget


def _credential_ref(row: Credential) -> str:
    return ids.encode(ids.Kind.CREDENTIAL, row.id)


async def upsert_credential(ctx: Context, draft: CredentialDraft) -> Credential:
    """Creates the credential, or replaces the one with the same slug."""
    caller = await ctx.require_caller(Role.ADMIN)
    spec = validate_credential(draft, "input")
    try:
        row = await _upsert(ctx, caller, spec)
    except IntegrityError:
        # A concurrent upsert created the same slug first; now that it exists this one is an
        # update, as it would have been had it come second.
        row = await _upsert(ctx, caller, spec)
    forget(ctx.loaders.credential, row.id)
    return row


async def _upsert(ctx: Context, caller: Caller, spec: CredentialSpec) -> Credential:
    async with ctx.transaction() as uow:
        row, outcome = await catalog_repo.upsert(uow.session, spec)
        await _audit(uow, ctx, caller, "credential.upsert", row, slug=row.slug, outcome=outcome)
        if outcome != "unchanged":
            await request_reindex(uow, ctx.services, [row.id])
    return row


async def set_credential_active(ctx: Context, public_id: str, active: bool) -> Credential:
    caller = await ctx.require_caller(Role.ADMIN)
    key = ids.decode(ids.Kind.CREDENTIAL, public_id)
    if key is None:
        raise not_found("Credential", "id")
    async with ctx.transaction() as uow:
        row = await catalog_repo.by_id(uow.session, key)
        if row is None:
            raise not_found("Credential", "id")
        changed = await catalog_repo.set_active(uow.session, row, active)
        action = "credential.activate" if active else "credential.deactivate"
        await _audit(uow, ctx, caller, action, row, slug=row.slug, changed=changed)
        if changed:
            await request_reindex(uow, ctx.services, [row.id])
    forget(ctx.loaders.credential, row.id)
    return row


async def _audit(
    uow: UnitOfWork, ctx: Context, caller: Caller, action: str, row: Credential, **meta: object
) -> None:
    await audit.record(
        uow.session,
        actor=caller.public_id,
        action=action,
        resource=_credential_ref(row),
        request_id=ctx.request_id,
        meta=meta,
    )


async def credentials(
    ctx: Context,
    *,
    active: bool | None,
    tag: str | None,
    domain: str | None,
    first: int,
    after: str | None,
) -> Page[Credential]:
    """ADMIN sees the whole catalog (active: null) or either half; everyone else only ever sees
    active credentials, so for them active: false is an empty page rather than an error."""
    caller = await ctx.require_caller()
    check_first(first)
    if not caller.is_admin:
        if active is False:
            return Page(items=[], cursors=[], has_next_page=False, total_count=0)
        active = True
    async with ctx.read() as session:
        return await catalog_repo.page(
            session,
            active=active,
            tag=_normalised(tag),
            domain=_normalised(domain),
            first=first,
            after=after,
        )


def _normalised(name: str | None) -> str | None:
    """Tags and domains are stored stripped and lower-cased (domain.catalog)."""
    return None if name is None else name.strip().lower()


async def credential(ctx: Context, key: uuid.UUID) -> Credential | None:
    """node(id:) for a credential: active ones for anyone signed in, inactive ones for ADMIN
    (the same rule as the `credentials` listing)."""
    caller = await ctx.require_caller()
    row = await ctx.loaders.credential.load(key)
    if row is None or (not row.active and not caller.is_admin):
        return None
    return row
