"""Migrations run up to head and down to base on PostgreSQL and SQLite, and head matches the
tables the code declares."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import db.tables  # noqa: F401
from db.migrate import downgrade, upgrade
from tests.support import stacks


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _diff(url: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
            )
    finally:
        await engine.dispose()


async def _round_trip(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    expected = set(SQLModel.metadata.tables)
    assert expected <= await _tables(url)
    assert await _diff(url) == []
    await asyncio.to_thread(downgrade, url)
    assert await _tables(url) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, url)
    assert expected <= await _tables(url)


@pytest.mark.filterwarnings("ignore:.*expression-based index.*")
async def test_sqlite_upgrade_downgrade(tmp_path: Path) -> None:
    await _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


async def test_postgres_upgrade_downgrade() -> None:
    if "postgres" not in stacks.selected_stacks():
        pytest.skip("TEST_STACKS excludes postgres")
    await stacks._check_postgres()
    name = f"mc_migr_{uuid.uuid4().hex[:8]}"
    await stacks._admin_sql(f'CREATE DATABASE "{name}"')
    try:
        await _round_trip(
            f"postgresql+asyncpg://{stacks.PG_USER}@{stacks.PG_HOST}:{stacks.PG_PORT}/{name}"
        )
    finally:
        await stacks._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
