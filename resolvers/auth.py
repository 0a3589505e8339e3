"""Accounts and sessions: register, login, refresh (rotating), logout, me, updateMe."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories import audit
from db.repositories import refresh_tokens as tokens_repo
from db.repositories import users as users_repo
from db.tables import RefreshToken, User
from db.types import utcnow
from domain import accounts, ids, passwords
from domain import tokens as token_rules
from domain.errors import DomainError, ErrorCode, Problems
from domain.roles import Role
from jobs.observability import metrics
from resolvers.context import Context
from settings import Settings

T = TypeVar("T")

# bcrypt is CPU-bound and releases the GIL. A pool of its own keeps it off the event loop and,
# on a small machine, leaves a core for serving everything else while logins queue.
_BCRYPT_POOL = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="bcrypt"
)


async def _bcrypt(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_BCRYPT_POOL, fn, *args)


@cache
def _dummy_hash(rounds: int) -> str:
    return passwords.dummy_hash(rounds)


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def _user_ref(user_id: uuid.UUID) -> str:
    return ids.encode(ids.Kind.USER, user_id)


def _rate_limited(limit: str, message: str, retry_after: int) -> DomainError:
    metrics().rate_limited.add(1, {"limit": limit})
    return DomainError.one(
        ErrorCode.RATE_LIMITED,
        f"{message} Try again in {retry_after} seconds.",
        None,
        retryAfterSeconds=retry_after,
    )


async def limit_ip(ctx: Context) -> None:
    settings = ctx.services.settings
    decision = await ctx.limiter.hit(
        "auth-ip", ctx.client_ip, settings.auth_requests_per_ip, settings.auth_ip_window_seconds
    )
    if not decision.allowed:
        raise _rate_limited(
            "auth-ip", "Too many sign-in requests from this address.", decision.retry_after
        )


def _secret(value: object) -> str | None:
    get = getattr(value, "get_secret_value", None)
    return get() if get else None


# ---------------------------------------------------------------- register


async def register(
    ctx: Context,
    *,
    email: str,
    password: str,
    name: str | None,
    invite_code: str | None,
    interests: Sequence[str] | None,
) -> User:
    await limit_ip(ctx)
    settings = ctx.services.settings
    problems = Problems()
    clean_email = accounts.check_email(email, problems, "input", "email")
    accounts.check_password(password, problems, "input", "password")
    clean_name = accounts.clean_name(name, problems, "input", "name")
    clean_interests = accounts.clean_interests(interests, problems, "input", "interests")
    role = accounts.role_for_invite(
        invite_code,
        _secret(settings.admin_invite_code),
        _secret(settings.advisor_invite_code),
        problems,
        "input",
        "inviteCode",
    )
    problems.raise_if_any()

    # A short session of its own, not the request's shared one: bcrypt comes next, and a pooled
    # connection must not wait through it (under a login burst that exhausts the pool).
    async with ctx.services.db.read() as session:
        if await users_repo.email_taken(session, clean_email):
            raise _email_taken()
    password_hash = await _bcrypt(passwords.hash_password, password, settings.bcrypt_rounds)
    user = User(
        email=clean_email,
        password_hash=password_hash,
        role=role.value,
        name=clean_name,
        interests_json=clean_interests,
    )
    try:
        async with ctx.transaction() as uow:
            await users_repo.add(uow.session, user)
            await audit.record(
                uow.session,
                actor=_user_ref(user.id),
                action="auth.register",
                resource=_user_ref(user.id),
                subject_id=user.id,
                request_id=ctx.request_id,
                meta={"role": role.value},
            )
    except IntegrityError:
        # Two registrations of one email at once: the unique index decides, and the loser gets
        # the answer it would have had coming second.
        raise _email_taken() from None
    return user


def _email_taken() -> DomainError:
    return DomainError.one(
        ErrorCode.CONFLICT, "An account with this email already exists.", ("input", "email")
    )


# ---------------------------------------------------------------- login


async def login(ctx: Context, *, email: str, password: str) -> Session:
    await limit_ip(ctx)
    settings = ctx.services.settings
    clean_email = accounts.normalize_email(email)
    # Reserve a failure before the password check (an atomic INCR), and give it back on
    # success: counting after bcrypt let a concurrent burst through, every guess seeing the
    # count from before any of them finished.
    failures = await ctx.limiter.hit(
        "login-fail",
        clean_email,
        settings.login_failures_per_email,
        settings.login_failure_window_seconds,
    )
    if not failures.allowed:
        raise _rate_limited(
            "login-fail", "Too many failed sign-ins for this account.", failures.retry_after
        )

    # Its own short session: see register (bcrypt must not hold a pooled connection).
    user: User | None = None
    # No account has a control character in its email (register validates it), and PostgreSQL
    # refuses a NUL in a query parameter outright: such an email is simply unknown.
    if clean_email.isprintable():
        async with ctx.services.db.read() as session:
            user = await users_repo.by_email(session, clean_email)
    # Unknown email: check a dummy hash anyway, so both failures cost the same time.
    stored_hash = user.password_hash if user else _dummy_hash(settings.bcrypt_rounds)
    valid = await _bcrypt(passwords.check_password, password, stored_hash)
    if user is None or not valid:
        async with ctx.transaction() as uow:
            await audit.record(
                uow.session,
                actor="anonymous",
                action="auth.login_failed",
                resource=_user_ref(user.id) if user else None,
                subject_id=user.id if user else None,
                request_id=ctx.request_id,
                meta={"reason": "wrong_password" if user else "unknown_email"},
            )
        raise DomainError.one(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")

    await ctx.limiter.reset("login-fail", clean_email, settings.login_failure_window_seconds)
    async with ctx.transaction() as uow:
        refresh = await _issue_refresh_token(uow.session, settings, user.id, uuid.uuid4())
        await audit.record(
            uow.session,
            actor=_user_ref(user.id),
            action="auth.login",
            resource=_user_ref(user.id),
            subject_id=user.id,
            request_id=ctx.request_id,
        )
    return _session(settings, user, refresh)


# ---------------------------------------------------------------- refresh and logout


def _bad_refresh_token() -> DomainError:
    return DomainError.one(
        ErrorCode.UNAUTHENTICATED,
        "This refresh token is not valid (expired, revoked or unknown); sign in again.",
        ("refreshToken",),
    )


async def refresh(ctx: Context, *, refresh_token: str) -> Session:
    """Rotate: the presented token stops working and a new one in the same family is issued.
    A token presented after it was rotated means two parties hold it (one of them a thief):
    the whole family is revoked, so both have to sign in again."""
    await limit_ip(ctx)
    settings = ctx.services.settings
    now = utcnow()
    reuse_detected = False
    async with ctx.transaction() as uow:
        row = await tokens_repo.by_hash(uow.session, token_rules.hash_refresh_token(refresh_token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise _bad_refresh_token()
        if row.rotated_at is not None:
            revoked = await tokens_repo.revoke_family(uow.session, row.family_id, now, "reuse")
            await audit.record(
                uow.session,
                actor="anonymous",
                action="auth.refresh_reuse",
                resource=_user_ref(row.user_id),
                subject_id=row.user_id,
                request_id=ctx.request_id,
                meta={"revokedTokens": revoked},
            )
            # Leave the block normally so the revocation commits; refuse after it.
            reuse_detected = True
        else:
            # Compare-and-set: of several concurrent refreshes of one token only one wins.
            if not await tokens_repo.mark_rotated(uow.session, row.id, now):
                raise _bad_refresh_token()
            user = await users_repo.by_id(uow.session, row.user_id)
            if user is None:
                raise _bad_refresh_token()
            new_token = await _issue_refresh_token(
                uow.session, settings, user.id, row.family_id, parent_id=row.id
            )
    if reuse_detected:
        raise _bad_refresh_token()
    assert user is not None
    return _session(settings, user, new_token)


async def logout(ctx: Context, *, refresh_token: str) -> None:
    """Ends the session the token belongs to (its whole family). Idempotent for a known token."""
    now = utcnow()
    async with ctx.transaction() as uow:
        row = await tokens_repo.by_hash(uow.session, token_rules.hash_refresh_token(refresh_token))
        if row is None:
            raise _bad_refresh_token()
        await tokens_repo.revoke_family(uow.session, row.family_id, now, "logout")
        await audit.record(
            uow.session,
            actor=_user_ref(row.user_id),
            action="auth.logout",
            resource=_user_ref(row.user_id),
            subject_id=row.user_id,
            request_id=ctx.request_id,
        )


async def _issue_refresh_token(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    parent_id: uuid.UUID | None = None,
) -> str:
    raw = token_rules.new_refresh_token()
    await tokens_repo.add(
        session,
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            parent_id=parent_id,
            token_hash=token_rules.hash_refresh_token(raw),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_ttl_days),
        ),
    )
    return raw


def _session(settings: Settings, user: User, refresh_token: str) -> Session:
    access = token_rules.issue_access_token(
        user_id=user.id,
        role=Role(user.role),
        key=settings.jwt_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        now=utcnow(),
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    return Session(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl_seconds,
        user=user,
    )


# ---------------------------------------------------------------- me


async def me(ctx: Context) -> User:
    caller = await ctx.require_caller()
    user: User | None = await ctx.loaders.user.load(caller.id)
    assert user is not None  # require_caller has just read it
    return user


_UNCHANGED = object()


async def update_me(
    ctx: Context, *, name: object = _UNCHANGED, interests: object = _UNCHANGED
) -> User:
    """Fields left out stay as they are; `name: null` clears the name."""
    caller = await ctx.require_caller()
    problems = Problems()
    changes: dict[str, object] = {}
    if name is not _UNCHANGED:
        changes["name"] = accounts.clean_name(
            name if isinstance(name, str) else None, problems, "input", "name"
        )
    if interests is not _UNCHANGED:
        changes["interests_json"] = accounts.clean_interests(
            interests if isinstance(interests, list) else [], problems, "input", "interests"
        )
    problems.raise_if_any()
    async with ctx.transaction() as uow:
        user = await users_repo.by_id(uow.session, caller.id)
        if user is None:
            raise DomainError.one(ErrorCode.NOT_FOUND, "Account not found.")
        for attribute, value in changes.items():
            setattr(user, attribute, value)
        user.updated_at = utcnow()
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="user.update_me",
            resource=caller.public_id,
            subject_id=caller.id,
            request_id=ctx.request_id,
            meta={"fields": sorted("interests" if k == "interests_json" else k for k in changes)},
        )
    return user


UNCHANGED = _UNCHANGED
