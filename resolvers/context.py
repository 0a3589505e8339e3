"""The per-request context: who is calling, the process's services, and per-request loaders."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketState

from db.database import UnitOfWork
from db.repositories import users as users_repo
from db.types import utcnow
from domain import ids
from domain.errors import AccessDenied
from domain.roles import STAFF_ROLES, Role
from domain.tokens import read_access_token
from jobs.services import Services
from resolvers.loaders import Loaders
from resolvers.rate_limit import RateLimiter
from serving.forwarded import client_address


@dataclass(frozen=True)
class Caller:
    id: uuid.UUID
    role: Role
    email: str

    @property
    def public_id(self) -> str:
        return ids.encode(ids.Kind.USER, self.id)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


_UNSET: Any = object()

# Every authenticated request needs the caller's role and the proof that the account still
# exists; reading them once per process every few seconds instead of on every request saves a
# database round trip on nearly all traffic.
CALLER_TTL_SECONDS = 5.0
_CALLERS_MAX = 50_000
_CALLERS: dict[uuid.UUID, tuple[float, Caller]] = {}


def forget_callers() -> None:
    _CALLERS.clear()


class SessionEnded(Exception):
    """A websocket was closed because its caller lost access (see Context.end_session); the
    operation that found out stops, and nothing more is sent on the socket."""


# Websocket close codes (graphql-transport-ws uses the 44xx range for these meanings).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def forget_caller(user_id: uuid.UUID) -> None:
    """A role change or an erasure in this process: effective for the next request."""
    _CALLERS.pop(user_id, None)


@dataclass
class Context:
    """Per request (per connection on websockets).

    Reads share one session per request (`read()`): a GraphQL request does many small reads,
    and each new session costs a pool checkout, a ping and a transaction. The session is used
    by one coroutine at a time (GraphQL resolves sibling fields concurrently, an AsyncSession
    must not be), is refreshed after the request's own writes (`transaction()`), and is closed
    when the operation ends. On websockets a context lives as long as the connection, so there
    the connection goes back to the pool after every read.
    """

    request: Request | WebSocket
    response: Response | WebSocket | None
    services: Services
    limiter: RateLimiter
    request_id: str
    # Set by Strawberry on websockets from the connection_init payload.
    connection_params: dict[str, Any] | None = None
    # Outcome notes for the request log line ("ok", "user_error", ...).
    notes: dict[str, Any] = field(default_factory=dict)
    release_reads: bool = False
    # (subject, resource) pairs whose staff read is already in the audit trail this request
    # (this operation, on websockets).
    audited_reads: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    # False on websockets: a socket lives for hours, so each check there reads the account from
    # the database rather than from the process's short-lived caller cache.
    cache_callers: bool = True
    loaders: Loaders = field(init=False)
    _caller: Any = field(default=_UNSET, repr=False)
    _reader: AsyncSession | None = field(default=None, repr=False)
    _reader_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.read)

    @property
    def is_websocket(self) -> bool:
        return isinstance(self.request, WebSocket)

    def begin_operation(self) -> None:
        """Websockets: every operation (a subscribe or start message, query and mutation
        included) starts as an HTTP request would: the caller resolved again (token expiry,
        deleted account, role), empty loaders (no cached advisor assignment), and its own
        audit of advisor reads."""
        self._caller = _UNSET
        self.loaders = Loaders(self.read)
        self.audited_reads = set()

    async def recheck(self) -> Caller:
        """A live subscription's periodic check: the caller and fresh loaders, so the next
        permission check sees today's role and assignments. A caller whose token expired or
        whose account is gone ends the session (4401)."""
        self._caller = _UNSET
        self.loaders = Loaders(self.read)
        try:
            caller = await self.caller()
        except AccessDenied as exc:
            await self.end_session(CLOSE_UNAUTHENTICATED, str(exc))
            raise SessionEnded from None
        if caller is None:
            await self.end_session(CLOSE_UNAUTHENTICATED, "Sign in first.")
            raise SessionEnded
        return caller

    async def end_session(self, code: int, reason: str) -> None:
        """Close the websocket with `code` and `reason` (once; later calls do nothing). The
        websocket handlers send nothing after this (schema/view.py)."""
        socket = self.request
        if not isinstance(socket, WebSocket):
            return
        if socket.application_state is WebSocketState.DISCONNECTED:
            return
        self.notes["closed_because"] = reason
        # A close reason is at most 123 bytes (RFC 6455 5.5).
        await socket.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """The request's read session. Never await a DataLoader inside the block: the loader
        needs this session too. It holds a pooled connection until the request ends, so a
        request that reads and then waits on something slow (bcrypt, a remote call) should read
        through `services.db.read()` instead."""
        async with self._reader_lock:
            if self._reader is None:
                self._reader = self.services.db.sessions()
            try:
                yield self._reader
            finally:
                if self.release_reads:
                    await self._end_reads()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A write transaction. The read session gives its connection back first (a request
        holding one connection while it waits for a second can starve the pool under load),
        and starts afresh afterwards, so later reads see what was written."""
        async with self._reader_lock:
            await self._end_reads()
        try:
            async with self.services.db.transaction() as uow:
                yield uow
        finally:
            # Also after a failed write: a concurrent writer may have won a race the caller
            # now wants to read about.
            async with self._reader_lock:
                await self._end_reads()

    async def close(self) -> None:
        async with self._reader_lock:
            await self._end_reads()

    async def _end_reads(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            # close() ends the transaction and detaches objects without expiring them, so rows
            # already handed to resolvers keep their values.
            await reader.close()

    @property
    def client_ip(self) -> str:
        """The caller's address for per-address limits: the peer, or what a trusted proxy
        forwarded (FORWARDED_ALLOW_IPS); the same value the request log shows."""
        return client_address(self.request.scope)

    def bearer_token(self) -> str | None:
        if self.connection_params is not None:
            for key, value in self.connection_params.items():
                if key.lower() == "authorization" and isinstance(value, str):
                    return _strip_bearer(value)
            return None
        header = self.request.headers.get("authorization")
        return _strip_bearer(header) if header else None

    async def caller(self) -> Caller | None:
        """The signed-in user, or None without a token. A token that is present but invalid, or
        whose user no longer exists, is refused (UNAUTHENTICATED) rather than treated as
        anonymous, so a client learns its token is bad."""
        if self._caller is _UNSET:
            self._caller = await self._resolve_caller()
        return self._caller  # type: ignore[no-any-return]

    async def require_caller(self, *roles: Role) -> Caller:
        caller = await self.caller()
        if caller is None:
            raise AccessDenied.unauthenticated()
        if roles and caller.role not in roles:
            raise AccessDenied.forbidden()
        return caller

    async def _resolve_caller(self) -> Caller | None:
        token = self.bearer_token()
        if not token:
            return None
        settings = self.services.settings
        claims = read_access_token(
            token,
            key=settings.jwt_key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            now=utcnow(),
        )
        # The database, not the token, is the truth about the role and the account's
        # existence, so a role change or an erasure takes effect within CALLER_TTL_SECONDS
        # (at once in the process that made the change).
        self.notes["user_id"] = ids.encode(ids.Kind.USER, claims.user_id)
        cached = _CALLERS.get(claims.user_id) if self.cache_callers else None
        if cached is not None and time.monotonic() - cached[0] < CALLER_TTL_SECONDS:
            return cached[1]
        async with self.read() as session:
            user = await users_repo.by_id(session, claims.user_id)
        if user is None:
            raise AccessDenied.unauthenticated("The account of this token no longer exists.")
        # Fields that show the caller (me, owner, ...) reuse this row instead of reading it again.
        self.loaders.user.prime(user.id, user)
        caller = Caller(id=user.id, role=Role(user.role), email=user.email)
        if len(_CALLERS) > _CALLERS_MAX:
            _CALLERS.clear()
        _CALLERS[user.id] = (time.monotonic(), caller)
        return caller


def _strip_bearer(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
