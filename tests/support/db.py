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


async def update_row(server: Any, table: Any, public_id: str, **values: Any) -> None:
    """UPDATE one row by public id through the table model (so column types convert values)."""
    import sqlalchemy as sa

    kind = ids.kind_of(public_id)
    assert kind is not None
    key = ids.decode(kind, public_id)
    async with server.services.db.engine.begin() as connection:
        await connection.execute(sa.update(table).where(table.id == key).values(**values))


BACKGROUND_TASKS = ("sweeper", "job:", "lease:")


class StatementCounter:
    """Counts SQL statements the server's engine runs for requests (the app is in this
    process); the sweeper and in-process jobs share the engine and are left out."""

    def __init__(self, server: Any) -> None:
        self.engine = server.services.db.engine.sync_engine
        self.statements: list[str] = []

    def _record(self, *args: Any) -> None:
        import asyncio

        task = asyncio.current_task()
        if task is not None and task.get_name().startswith(BACKGROUND_TASKS):
            return
        statement = str(args[2]).strip().split()[0].upper()
        if statement not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            self.statements.append(str(args[2]))

    def __enter__(self) -> StatementCounter:
        import sqlalchemy as sa

        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)
