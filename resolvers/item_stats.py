"""Item statistics for admins: how each scored bank question performs (domain/item_stats.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from db.pagination import Page
from db.repositories import item_stats as item_stats_repo
from db.tables import Question
from domain import ids, item_stats
from domain.errors import not_found, validation
from domain.item_stats import ItemFlag, ItemStatistics, Sums
from domain.questions import QuestionType
from domain.roles import Role
from resolvers.context import Context


@dataclass(frozen=True)
class QuestionStatsEntry:
    question: Question
    stats: ItemStatistics
    flags: tuple[ItemFlag, ...]  # as stored at the last update: what the flag filter matches
    updated_at: datetime | None


async def question_stats(
    ctx: Context,
    *,
    question_id: str | None,
    type: QuestionType | None,
    domain: str | None,
    flag: ItemFlag | None,
    first: int,
    after: str | None,
) -> Page[QuestionStatsEntry]:
    await ctx.require_caller(Role.ADMIN)
    key: uuid.UUID | None = None
    if question_id is not None:
        key = ids.decode(ids.Kind.QUESTION, question_id)
        if key is None:
            raise not_found("Question", "questionId")
    if type is QuestionType.PROFILE:
        raise validation(
            "Interest (PROFILE) items are not scored: they have no statistics.", "filter", "type"
        )
    domain = (domain or "").strip().lower() or None
    if domain is not None and "\x00" in domain:
        # PostgreSQL refuses NUL in text: say so instead of failing the query.
        raise validation("A domain cannot contain a NUL character.", "filter", "domain")
    where = item_stats_repo.QuestionFilter(
        question_id=key, type=type.value if type else None,
        domain=domain, flag=flag,
    )  # fmt: skip
    async with ctx.read() as session:
        found = await item_stats_repo.page(session, where, first, after)
    if key is not None and not found.items and after is None:
        # Unknown, or an interest item: either way there are no statistics of that question.
        raise not_found("Question", "questionId")
    entries = []
    for question, row in found.items:
        sums = item_stats_repo.sums_of(row) if row else Sums()
        keys, correct = item_stats_repo.option_keys(question)
        entries.append(
            QuestionStatsEntry(
                question=question,
                stats=item_stats.statistics(sums, question.type, keys, correct),
                flags=tuple(ItemFlag(f) for f in row.flags_json) if row else (),
                updated_at=row.updated_at if row else None,
            )
        )
    return Page(entries, found.cursors, found.has_next_page, found.total_count)
