"""The seed loader writes the shipped track blueprints once (a second load leaves them
unchanged), and a tracks file naming a domain the bank does not hold writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.database import Database, create_engine
from db.migrate import upgrade
from seeds.loader import DEFAULT_FILES, SeedError, load
from tests.support import stacks


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param not in stacks.selected_stacks():
        pytest.skip(f"TEST_STACKS excludes {request.param}")
    name = f"mc_seed_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    else:
        await stacks._check_postgres()
        await stacks._admin_sql(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://{stacks.PG_USER}@{stacks.PG_HOST}:{stacks.PG_PORT}/{name}"
    await asyncio.to_thread(upgrade, url)
    db = Database(create_engine(url))
    try:
        yield db
    finally:
        await db.dispose()
        if request.param == "postgres":
            await stacks._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _track_names(db: Database) -> list[str]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(sa.text("SELECT name FROM tracks ORDER BY name"))
        return [row[0] for row in rows]


@pytest.mark.filterwarnings("ignore:.*expression-based index.*")
async def test_tracks_load_once_and_refuse_unknown_domains(
    database: Database, tmp_path: Path
) -> None:
    first = await load(database, dict(DEFAULT_FILES))
    assert sorted(first["tracks"].created) == [
        "cloud", "data", "general", "security", "software", "web"]  # fmt: skip
    again = await load(database, dict(DEFAULT_FILES))
    assert again["tracks"].unchanged == first["tracks"].created
    assert again["tracks"].created == again["tracks"].updated == []

    bad = tmp_path / "tracks.yaml"
    bad.write_text(
        "tracks:\n"
        "  - {name: general, title: Changed, domains: [{domain: web, weight: 1}]}\n"
        "  - {name: astro, title: Astro, domains: [{domain: astrology, weight: 2}]}\n"
    )
    with pytest.raises(SeedError) as caught:
        await load(database, {"tracks": bad})
    assert "track astro: field domains.0.domain: 'astrology'" in str(caught.value)
    assert await _track_names(database) == sorted(first["tracks"].created)
    async with database.engine.connect() as connection:
        title = await connection.scalar(sa.text("SELECT title FROM tracks WHERE name='general'"))
    assert title == "General computing"  # the valid first item was not kept either
