"""Personal data (NFR6): export everything stored about the caller, and erase a person.

The queries, the order of the deletes and the audit anonymisation live in
db/repositories/privacy.py; what an anonymised audit event may keep in domain/privacy.py."""

from __future__ import annotations

import uuid
from typing import Any

from db.repositories import audit
from db.repositories import privacy as privacy_repo
from db.repositories import users as users_repo
from db.types import utcnow
from domain import ids, passwords
from domain.errors import DomainError, ErrorCode, not_found, validation
from domain.privacy import ERASED_ACTOR
from domain.roles import Role
from resolvers import auth
from resolvers.context import Caller, Context, forget_caller
from resolvers.loaders import forget


async def export_my_data(ctx: Context) -> dict[str, Any]:
    caller = await ctx.require_caller()
    async with ctx.read() as session:
        document = await privacy_repo.export_document(session, caller.id, utcnow())
    if document is None:  # erased between the token check and now
        raise not_found("User")
    # After the read, so the trail never claims an export that did not happen; before the
    # answer, so no export leaves without its audit event.
    async with ctx.transaction() as uow:
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="account.export",
            resource=caller.public_id,
            subject_id=caller.id,
            request_id=ctx.request_id,
        )
    return document


async def delete_my_account(ctx: Context, password: str) -> None:
    """The password again, so a token left in a browser cannot erase its owner."""
    caller = await ctx.require_caller()
    await _check_password(ctx, caller, password)
    await _erase(ctx, caller.id, actor=ERASED_ACTOR, self_service=True)


async def delete_user(ctx: Context, public_id: str) -> None:
    caller = await ctx.require_caller(Role.ADMIN)
    key = ids.decode(ids.Kind.USER, public_id)
    if key is None:
        raise not_found("User", "userId")
    if key == caller.id:
        raise validation("Delete your own account with deleteMyAccount.", "userId")
    await _erase(ctx, key, actor=caller.public_id, self_service=False)


async def _check_password(ctx: Context, caller: Caller, password: str) -> None:
    """As login checks it, and counted with login's failures for the account: a stolen access
    token must not become an unlimited password oracle."""
    settings = ctx.services.settings
    limit, window = settings.login_failures_per_email, settings.login_failure_window_seconds
    await auth.limit_ip(ctx)
    # Reserved before bcrypt, as login does (atomic under a concurrent burst).
    failures = await ctx.limiter.hit("login-fail", caller.email, limit, window)
    if not failures.allowed:
        raise DomainError.one(
            ErrorCode.RATE_LIMITED,
            f"Too many wrong passwords. Try again in {failures.retry_after} seconds.",
            ("password",),
            retryAfterSeconds=failures.retry_after,
        )
    # A short session of its own: bcrypt comes next, and must not hold a pooled connection.
    async with ctx.services.db.read() as session:
        user = await users_repo.by_id(session, caller.id)
    if user is None:
        raise not_found("User")
    # auth's bcrypt pool: sized so hashing leaves a core for serving everything else.
    if not await auth._bcrypt(passwords.check_password, password, user.password_hash):
        async with ctx.transaction() as uow:
            await audit.record(
                uow.session,
                actor=caller.public_id,
                action="account.delete_refused",
                resource=caller.public_id,
                subject_id=caller.id,
                request_id=ctx.request_id,
                meta={"reason": "wrong_password"},
            )
        raise DomainError.one(
            ErrorCode.INVALID_CREDENTIALS, "The password is incorrect.", ("password",)
        )


async def _erase(ctx: Context, user_id: uuid.UUID, *, actor: str, self_service: bool) -> None:
    async with ctx.transaction() as uow:
        erasure = await privacy_repo.erase(uow.session, user_id)
        if erasure is None:
            raise not_found("User", "userId")
        # No resource and no subject: the erased person's public id is itself an identifier,
        # and a hash of it could be recomputed by anyone who has the id (a webhook receiver,
        # an old log line). The counts say what went without saying who.
        await audit.record(
            uow.session,
            actor=actor,
            action="account.delete",
            request_id=ctx.request_id,
            meta={"selfService": self_service, "erased": erasure.counts},
        )
    # This process stops accepting the person's access tokens at once; other processes when
    # their cached caller expires (CALLER_TTL_SECONDS), as their next lookup finds no one.
    forget_caller(user_id)
    forget(ctx.loaders.user, user_id)
    forget(ctx.loaders.advisor_id, user_id)
