"""Keyset pagination for Relay connections. Keys are UUIDv7, which sort by creation time, so
`id` alone orders a connection stably and a cursor is the last id seen (encoded)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import validation

T = TypeVar("T")
MAX_FIRST = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    total_count: int

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(key: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(key.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise validation("This cursor is not valid; use a pageInfo.endCursor.", "after") from None


def check_first(first: int) -> None:
    if not 0 <= first <= MAX_FIRST:
        raise validation(f"first must be 0..{MAX_FIRST}.", "first")


async def paginate(
    session: AsyncSession,
    statement: sa.Select[Any],
    id_column: Any,
    first: int,
    after: str | None,
    descending: bool = True,
) -> Page[Any]:
    """`statement` selects the rows (with filters, without order); newest first by default."""
    check_first(first)
    total = await session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    if after is not None:
        key = decode_cursor(after)
        statement = statement.where(id_column < key if descending else id_column > key)
    ordered = statement.order_by(id_column.desc() if descending else id_column.asc())
    rows = list((await session.scalars(ordered.limit(first + 1))).all())
    has_next = len(rows) > first
    rows = rows[:first]
    return Page(
        items=rows,
        cursors=[encode_cursor(row.id) for row in rows],
        has_next_page=has_next,
        total_count=int(total or 0),
    )
