from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db import like
from db.json_queries import holds
from db.pagination import Page, paginate
from db.tables import AdvisorAssignment, Assessment, Score, User
from db.types import utcnow
from domain.profile import PROVISIONAL_LEVEL


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
    return {student: advisor for student, advisor in rows}


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own wildcards taken literally."""
    return f"%{like.literal(text.lower())}%"


async def students_page(
    session: AsyncSession,
    *,
    advisor_id: uuid.UUID | None,
    search: str | None,
    weak_in: str | None,
    band: str | None,
    first: int,
    after: str | None,
) -> Page[User]:
    """Students in registration order: all of them, or an advisor's. `weak_in` and `band` look
    at each student's latest counted DONE assessment whose profile is not provisional (custom
    ones are admins' try-outs and never count)."""
    statement = sa.select(User).where(col(User.role) == "student")
    if advisor_id is not None:
        statement = statement.join(
            AdvisorAssignment, col(AdvisorAssignment.student_id) == col(User.id)
        ).where(col(AdvisorAssignment.advisor_id) == advisor_id)
    if search:
        pattern = _like(search)
        statement = statement.where(
            sa.or_(
                sa.func.lower(col(User.email)).like(pattern, escape=like.ESCAPE),
                sa.func.lower(sa.func.coalesce(col(User.name), "")).like(
                    pattern, escape=like.ESCAPE
                ),
            )
        )
    if weak_in is not None or band is not None:
        # The latest profile that is not provisional (confidence LOW): a band that rests on one
        # lucky item must not put a student in an advisor's ADVANCED list.
        profile = col(Score.profile_json)
        latest = _latest_firm().subquery()
        statement = (
            statement.join(latest, latest.c.user_id == col(User.id))
            .join(Assessment, sa.and_(col(Assessment.user_id) == col(User.id),
                                      col(Assessment.completed_at) == latest.c.at,
                                      col(Assessment.custom).is_(False)))
            .join(Score, col(Score.assessment_id) == col(Assessment.id))
        )  # fmt: skip
        if weak_in is not None:
            statement = statement.where(holds(session, profile, weak_in, key="improvements"))
        if band is not None:
            statement = statement.where(profile["band"].as_string() == band)
    return await paginate(session, statement, col(User.id), first, after, descending=False)


def _latest_done() -> sa.Select[uuid.UUID, datetime | None]:
    """Per user, when their latest counted assessment finished: DONE and not custom."""
    return (
        sa.select(col(Assessment.user_id), sa.func.max(col(Assessment.completed_at)).label("at"))
        .where(col(Assessment.status) == "done", col(Assessment.custom).is_(False))
        .group_by(col(Assessment.user_id))
    )


def _latest_firm() -> sa.Select[uuid.UUID, datetime | None]:
    """Per user, the completion time of their latest counted DONE assessment (not custom) whose
    stored profile is not provisional. A profile stored before confidence existed has no
    level: it counts."""
    level = col(Score.profile_json)[("confidence", "level")].as_string()
    return (
        sa.select(col(Assessment.user_id), sa.func.max(col(Assessment.completed_at)).label("at"))
        .join(Score, col(Score.assessment_id) == col(Assessment.id))
        .where(col(Assessment.status) == "done", col(Assessment.custom).is_(False))
        .where(sa.or_(level.is_(None), level != PROVISIONAL_LEVEL.value))
        .group_by(col(Assessment.user_id))
    )


async def latest_profiles(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, dict[str, Any]]]:
    """Per user: (assessment id, stored profile) of their latest counted DONE assessment
    (custom ones never count)."""
    if not user_ids:
        return {}
    latest = _latest_done().where(col(Assessment.user_id).in_(user_ids)).subquery()
    rows = await session.execute(
        sa.select(col(Assessment.user_id), col(Assessment.id), col(Score.profile_json))
        .join(latest, sa.and_(latest.c.user_id == col(Assessment.user_id),
                              latest.c.at == col(Assessment.completed_at)))
        .where(col(Assessment.custom).is_(False))
        .join(Score, col(Score.assessment_id) == col(Assessment.id))
    )  # fmt: skip
    found: Any = rows  # the select's column types do not survive the subquery joins
    return {user: (assessment, profile) for user, assessment, profile in found}


async def assign_advisor(
    session: AsyncSession, student_id: uuid.UUID, advisor_id: uuid.UUID
) -> uuid.UUID | None:
    """Set (or replace) a student's advisor; returns the previous advisor, if any."""
    row = await session.get(AdvisorAssignment, student_id)
    previous = row.advisor_id if row else None
    if row is None:
        session.add(AdvisorAssignment(student_id=student_id, advisor_id=advisor_id))
    else:
        row.advisor_id = advisor_id
        row.assigned_at = utcnow()
    await session.flush()
    return previous


async def set_role(session: AsyncSession, user: User, role: str) -> int:
    """Change a role; assignments the new role cannot hold go (only students have an advisor,
    only advisors advise). Returns how many assignments were removed."""
    removed = 0
    if role != "student":
        result = await session.execute(
            sa.delete(AdvisorAssignment).where(col(AdvisorAssignment.student_id) == user.id)
        )
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    if role != "advisor":
        result = await session.execute(
            sa.delete(AdvisorAssignment).where(col(AdvisorAssignment.advisor_id) == user.id)
        )
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    user.role = role
    user.updated_at = utcnow()
    await session.flush()
    return removed
