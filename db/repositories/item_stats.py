"""Item statistics: each bank question's sufficient statistics (domain/item_stats.py), updated
in the transaction that stores or rebuilds an assessment's result, and read by admins a page of
questions at a time. A read costs the same with 100 responses or 100,000: it never touches
responses."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.json_queries import holds
from db.pagination import Page, check_first, decode_cursor, encode_cursor
from db.tables import ItemStats, Question, Score
from db.types import utcnow
from db.upsert import insert_for
from domain import item_stats
from domain.item_stats import Contribution, ItemFlag, Sums

SCORED_TYPES = ("theory", "essay")


async def record(
    session: AsyncSession, assessment_id: uuid.UUID, found: Sequence[Contribution]
) -> None:
    """Make the statistics count this assessment's result as `found`, once: what the result
    added before (stored on its scores row) is replaced, so a re-score or a job that runs twice
    changes nothing but what actually changed. The caller holds the assessment's row lock."""
    await record_many(session, {assessment_id: found})


async def record_many(
    session: AsyncSession, results: Mapping[uuid.UUID, Sequence[Contribution]]
) -> None:
    """`record` for several assessments in one go (a few statements whatever their number)."""
    if not results:
        return
    scores = await session.scalars(
        sa.select(Score).where(col(Score.assessment_id).in_(list(results)))
    )
    deltas: dict[str, Sums] = {}
    for score in scores:
        found = results[score.assessment_id]
        old = item_stats.decode(score.item_contributions_json)
        score.item_contributions_json = item_stats.encode(found)
        for key, change in item_stats.changes(old, found).items():
            deltas.setdefault(key, Sums()).merge(change, keep_zeros=True)
    await session.flush()
    if not deltas:
        return
    questions = {
        q.id: q
        for q in await session.scalars(
            sa.select(Question).where(col(Question.id).in_([uuid.UUID(k) for k in deltas]))
        )
    }
    keys = sorted(questions)  # one lock order for every writer: no deadlock between two
    if not keys:
        return
    now = utcnow()
    # The rows first (a first response creates its row), which also takes SQLite's write lock
    # before anything is read; on PostgreSQL the rows are then locked in key order.
    empty = Sums()
    await session.execute(
        insert_for(session, ItemStats)
        .values([_values(key, empty, (), now) for key in keys])
        .on_conflict_do_nothing(index_elements=["question_id"])
    )
    rows = await session.scalars(
        sa.select(ItemStats)
        .where(col(ItemStats.question_id).in_(keys))
        .order_by(col(ItemStats.question_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for row in rows:
        sums = sums_of(row)
        sums.merge(deltas[str(row.question_id)])
        question = questions[row.question_id]
        keys_, correct = option_keys(question)
        stats = item_stats.statistics(sums, question.type, keys_, correct)
        for name, value in _values(row.question_id, sums, stats.flags, now).items():
            setattr(row, name, value)
    await session.flush()


def _values(
    key: uuid.UUID, sums: Sums, flags: Sequence[ItemFlag], now: datetime
) -> dict[str, object]:
    return {
        "question_id": key, "n": sums.n, "sum_x": sums.sum_x, "sum_x2": sums.sum_x2,
        "sum_rest": sums.sum_rest, "sum_rest2": sums.sum_rest2, "sum_x_rest": sums.sum_x_rest,
        "option_counts_json": dict(sums.options), "flags_json": [f.value for f in flags],
        "updated_at": now,
    }  # fmt: skip


def sums_of(row: ItemStats) -> Sums:
    return Sums(
        n=row.n, sum_x=row.sum_x, sum_x2=row.sum_x2, sum_rest=row.sum_rest,
        sum_rest2=row.sum_rest2, sum_x_rest=row.sum_x_rest,
        options={str(k): int(v) for k, v in (row.option_counts_json or {}).items()},
    )  # fmt: skip


def option_keys(question: Question) -> tuple[list[str], str | None]:
    """The option keys of a multiple-choice question in their order, and the correct one."""
    keys = [str(o["key"]) for o in question.options_json or [] if "key" in o]
    correct = (question.rules_json or {}).get("correct")
    return keys, str(correct) if correct is not None else None


@dataclass(frozen=True)
class QuestionFilter:
    question_id: uuid.UUID | None = None
    type: str | None = None
    domain: str | None = None
    flag: ItemFlag | None = None


async def page(
    session: AsyncSession, where: QuestionFilter, first: int, after: str | None
) -> Page[tuple[Question, ItemStats | None]]:
    """Scored bank questions (multiple choice and essays) in creation order, each with its
    statistics row (None before its first response); with `flag`, only those whose statistics
    raise it. One query, and a count only when the page does not show the whole result."""
    check_first(first)
    joined = sa.select(Question, ItemStats).join(
        ItemStats, col(ItemStats.question_id) == col(Question.id), isouter=where.flag is None
    )
    conditions: list[Any] = [col(Question.type).in_(SCORED_TYPES)]
    if where.question_id is not None:
        conditions.append(col(Question.id) == where.question_id)
    if where.type is not None:
        conditions.append(col(Question.type) == where.type)
    if where.domain is not None:
        conditions.append(col(Question.domain) == where.domain)
    if where.flag is not None:
        conditions.append(holds(session, col(ItemStats.flags_json), where.flag.value))
    statement = joined.where(*conditions)
    if after is not None:
        statement = statement.where(col(Question.id) > decode_cursor(after))
    found = (await session.execute(statement.order_by(col(Question.id)).limit(first + 1))).all()
    has_next = len(found) > first
    items: list[tuple[Question, ItemStats | None]] = [(q, stats) for q, stats in found[:first]]
    if after is None and not has_next:
        total = len(items)  # the page is the whole result: no need to count it again
    else:
        counted = joined.with_only_columns(col(Question.id)).where(*conditions).subquery()
        total = int(await session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0)
    return Page(
        items=items,
        cursors=[encode_cursor(question.id) for question, _stats in items],
        has_next_page=has_next,
        total_count=total,
    )
