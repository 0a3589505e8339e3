"""The per-request context: who is calling, the process's services, and per-request loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from db.repositories import users as users_repo
from db.types import utcnow
from domain import ids
from domain.errors import AccessDenied
from domain.roles import STAFF_ROLES, Role
from domain.tokens import read_access_token
from jobs.services import Services
from resolvers.loaders import Loaders
from resolvers.rate_limit import RateLimiter


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


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    services: Services
    limiter: RateLimiter
    request_id: str
    loaders: Loaders
    # Set by Strawberry on websockets from the connection_init payload.
    connection_params: dict[str, Any] | None = None
    # Outcome notes for the request log line ("ok", "user_error", ...).
    notes: dict[str, Any] = field(default_factory=dict)
    _caller: Any = field(default=_UNSET, repr=False)

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else "unknown"

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
        # The row, not the token, is the truth about the role and the account's existence:
        # a role change or an erasure takes effect at once.
        async with self.services.db.read() as session:
            user = await users_repo.by_id(session, claims.user_id)
        if user is None:
            raise AccessDenied.unauthenticated("The account of this token no longer exists.")
        # Fields that show the caller (me, owner, ...) reuse this row instead of reading it again.
        self.loaders.user.prime(user.id, user)
        self.notes["user_id"] = ids.encode(ids.Kind.USER, user.id)
        return Caller(id=user.id, role=Role(user.role), email=user.email)


def _strip_bearer(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
