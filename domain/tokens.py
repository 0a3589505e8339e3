"""Access tokens (HS256 JWT) and refresh tokens (opaque random, stored only as a hash)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from domain.errors import AccessDenied
from domain.roles import Role

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: Role
    jti: str
    expires_at: datetime


def issue_access_token(
    *,
    user_id: uuid.UUID,
    role: Role,
    key: str,
    issuer: str,
    audience: str,
    now: datetime,
    ttl: timedelta,
) -> str:
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "iss": issuer,
        "aud": audience,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_access_token(
    token: str, *, key: str, issuer: str, audience: str, now: datetime
) -> AccessClaims:
    """Verified claims, or AccessDenied(UNAUTHENTICATED). Only HS256 is accepted, so `none` and
    algorithm-confusion tokens fail the same way as a bad signature."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": ["sub", "role", "iat", "exp", "iss", "aud", "jti"]},
            leeway=0,
        )
        user_id = uuid.UUID(str(claims["sub"]))
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError:
        raise AccessDenied.unauthenticated("The access token has expired; refresh it.") from None
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        raise AccessDenied.unauthenticated("The access token is not valid.") from None
    expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    return AccessClaims(user_id=user_id, role=role, jti=str(claims["jti"]), expires_at=expires_at)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """SHA-256 suffices: the token has 256 random bits, so there is nothing to brute-force, and a
    fast hash keeps refresh cheap. The raw token is never stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
