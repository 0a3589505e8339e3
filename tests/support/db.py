"""Direct reads of the database under test, to prove what a request did (or did not) save."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain import ids


async def rows(server: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with server.services.db.engine.connect() as connection:
        result = await connection.execute(sa.text(sql), params)
        return [dict(row._mapping) for row in result]


async def scalar(server: Any, sql: str, **params: Any) -> Any:
    async with server.services.db.engine.connect() as connection:
        return (await connection.execute(sa.text(sql), params)).scalar()


def uuid_param(server: Any, public_id: str) -> Any:
    """A public id as the database stores it (native UUID on PostgreSQL, hex on SQLite)."""
    kind = ids.kind_of(public_id)
    assert kind is not None, public_id
    key = ids.decode(kind, public_id)
    assert key is not None
    return key.hex if server.settings.is_sqlite else key


async def audit_actions(server: Any, user_public_id: str) -> list[str]:
    found = await rows(
        server,
        "SELECT action FROM audit_events WHERE subject_id = :sid ORDER BY created_at",
        sid=uuid_param(server, user_public_id),
    )
    return [row["action"] for row in found]
