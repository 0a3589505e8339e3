"""Conditions on JSON columns that read the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession


def holds(session: AsyncSession, column: Any, value: str, key: str | None = None) -> Any:
    """Exact membership of `value` in a JSON list (the column itself, or its member `key`), in
    each database's own terms: JSONB containment on PostgreSQL (served by GIN indexes),
    json_each on SQLite. A LIKE on the JSON text would also be portable, but it depends on how
    each database spells the text and would need escaping of LIKE's wildcards."""
    if session.get_bind().dialect.name == "postgresql":
        document = sa.type_coerce(column, postgresql.JSONB)
        return (document[key] if key else document).contains([value])
    members = (
        sa.func.json_each(column, f"$.{key}") if key else sa.func.json_each(column)
    ).table_valued("value")
    return sa.exists(sa.select(1).select_from(members).where(members.c.value == value))
