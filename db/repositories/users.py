from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import AdvisorAssignment, User


async def by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not ids:
        return {}
    rows = await session.scalars(sa.select(User).where(User.id.in_(ids)))  # type: ignore[attr-defined]
    return {row.id: row for row in rows}


async def by_email(session: AsyncSession, email: str) -> User | None:
    # Matches the unique index on lower(email), so the lookup uses it.
    statement = sa.select(User).where(sa.func.lower(col(User.email)) == email.lower())
    return (await session.scalars(statement)).first()


async def email_taken(session: AsyncSession, email: str) -> bool:
    return await by_email(session, email) is not None


async def add(session: AsyncSession, user: User) -> User:
    session.add(user)
    await session.flush()
    return user


async def advisor_ids_for(
    session: AsyncSession, student_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    if not student_ids:
        return {}
    rows = await session.execute(
        sa.select(col(AdvisorAssignment.student_id), col(AdvisorAssignment.advisor_id)).where(
            col(AdvisorAssignment.student_id).in_(student_ids)
        )
    )
    return {student: advisor for student, advisor in rows.tuples()}
