from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import RefreshToken


async def by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = sa.select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash)
    return (await session.scalars(statement)).first()


async def add(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def mark_rotated(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Compare-and-set: True for exactly one of several concurrent refreshes of one token."""
    result = await session.execute(
        sa.update(RefreshToken)
        .where(
            col(RefreshToken.id) == token_id,
            col(RefreshToken.rotated_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(rotated_at=now)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def revoke_family(
    session: AsyncSession, family_id: uuid.UUID, now: datetime, reason: str
) -> int:
    result = await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
