"""Track blueprints: read, upsert by name, and the domains a blueprint may name."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import Question, Track
from db.types import utcnow
from domain.questions import QuestionType
from domain.tracks import Blueprint, DomainWeight

Outcome = Literal["created", "updated", "unchanged"]


def to_blueprint(row: Track) -> Blueprint:
    return Blueprint(
        name=row.name,
        title=row.title,
        description=row.description,
        domains=tuple(
            DomainWeight(str(d["domain"]), int(d["weight"])) for d in row.domains_json or ()
        ),
    )


def _columns(blueprint: Blueprint) -> dict[str, Any]:
    return {
        "title": blueprint.title,
        "description": blueprint.description,
        "domains_json": [{"domain": d.domain, "weight": d.weight} for d in blueprint.domains],
    }


async def get(session: AsyncSession, name: str) -> Track | None:
    return await session.get(Track, name)


async def all_tracks(session: AsyncSession) -> list[Track]:
    return list(await session.scalars(sa.select(Track).order_by(col(Track.name))))


async def blueprints(session: AsyncSession) -> dict[str, Blueprint]:
    return {row.name: to_blueprint(row) for row in await all_tracks(session)}


async def upsert(session: AsyncSession, blueprint: Blueprint) -> tuple[Track, Outcome]:
    row = await get(session, blueprint.name)
    columns = _columns(blueprint)
    if row is None:
        row = Track(name=blueprint.name, **columns)
        session.add(row)
        await session.flush()
        return row, "created"
    changed = False
    for name, value in columns.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = utcnow()
        await session.flush()
    return row, "updated" if changed else "unchanged"


async def domains_with_scored_items(session: AsyncSession) -> set[str]:
    """Domains holding at least one active theory or essay question."""
    rows = await session.scalars(
        sa.select(col(Question.domain))
        .where(
            col(Question.active).is_(True),
            col(Question.type).in_([QuestionType.THEORETICAL.value, QuestionType.ESSAY.value]),
        )
        .distinct()
    )
    return set(rows)
