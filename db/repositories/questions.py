from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.pagination import Page, paginate
from db.tables import Question
from db.types import utcnow
from domain.questions import QuestionSpec, QuestionType
from domain.selection import Candidate


def spec_columns(spec: QuestionSpec) -> dict[str, Any]:
    """The columns a validated question sets (everything but id, key and timestamps)."""
    return {
        "type": spec.type.value,
        "prompt": spec.prompt,
        "domain": spec.domain,
        "tracks_json": list(spec.tracks),
        "difficulty": spec.difficulty,
        "options_json": [{"key": k, "text": t} for k, t in spec.options] or None,
        "rules_json": {"correct": spec.correct_key} if spec.correct_key else None,
        "rubric_json": [
            {"name": c.name, "description": c.description, "weight": c.weight} for c in spec.rubric
        ]
        or None,
        "reference_answer": spec.reference_answer,
        "key_points_json": list(spec.key_points) or None,
        "scale_json": (
            {
                "min": spec.scale.min,
                "max": spec.scale.max,
                "minLabel": spec.scale.min_label,
                "maxLabel": spec.scale.max_label,
            }
            if spec.scale
            else None
        ),
        "interest_area": spec.interest_area,
        "active": spec.active,
    }


async def add(session: AsyncSession, spec: QuestionSpec, key: str | None = None) -> Question:
    question = Question(key=key, **spec_columns(spec))
    session.add(question)
    await session.flush()
    return question


def apply(question: Question, spec: QuestionSpec) -> bool:
    """Write the spec onto the row; True when anything changed."""
    changed = False
    for name, value in spec_columns(spec).items():
        if getattr(question, name) != value:
            setattr(question, name, value)
            changed = True
    if changed:
        question.updated_at = utcnow()
    return changed


async def by_id(session: AsyncSession, question_id: uuid.UUID) -> Question | None:
    return await session.get(Question, question_id)


async def by_ids(session: AsyncSession, keys: Sequence[uuid.UUID]) -> dict[uuid.UUID, Question]:
    rows = await session.scalars(sa.select(Question).where(col(Question.id).in_(keys)))
    return {row.id: row for row in rows}


async def by_keys(session: AsyncSession, keys: Sequence[str]) -> dict[str, Question]:
    if not keys:
        return {}
    rows = await session.scalars(sa.select(Question).where(col(Question.key).in_(keys)))
    return {row.key: row for row in rows if row.key}


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(Question)) or 0)


async def page(
    session: AsyncSession,
    *,
    type: QuestionType | None,
    domain: str | None,
    active: bool | None,
    first: int,
    after: str | None,
) -> Page[Question]:
    statement = sa.select(Question)
    if type is not None:
        statement = statement.where(col(Question.type) == type.value)
    if domain is not None:
        statement = statement.where(col(Question.domain) == domain.strip().lower())
    if active is not None:
        statement = statement.where(col(Question.active) == active)
    return await paginate(session, statement, col(Question.id), first, after, descending=False)


async def active_pool(session: AsyncSession) -> list[Candidate]:
    """Every active question as a selection candidate (the bank is small: a few hundred rows)."""
    rows = await session.execute(
        sa.select(
            col(Question.id),
            col(Question.type),
            col(Question.domain),
            col(Question.tracks_json),
            col(Question.interest_area),
            col(Question.difficulty),
        ).where(col(Question.active).is_(True))
    )
    return [
        Candidate(
            id=row.id,
            type=QuestionType(row.type),
            domain=row.domain,
            tracks=tuple(row.tracks_json or ()),
            interest_area=row.interest_area,
            difficulty=row.difficulty,
        )
        for row in rows
    ]


async def essay_references(session: AsyncSession) -> list[tuple[uuid.UUID, str, str]]:
    """(id, prompt, reference answer) of every active essay question of the bank: what an
    essay is compared with to recognise an answer to another question."""
    rows = await session.execute(
        sa.select(col(Question.id), col(Question.prompt), col(Question.reference_answer))
        .where(col(Question.type) == QuestionType.ESSAY.value, col(Question.active).is_(True))
        .order_by(col(Question.id))
    )
    return [(key, prompt, reference or "") for key, prompt, reference in rows]
