"""A custom assessment (an admin's try-out) is never counted: not as the latest profile, not in
students(band:, weakIn:), not in any analytics read. Rows are written directly so the custom
one is the newest and its profile differs from the counted one's (both databases)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from db.database import Database, create_engine
from db.migrate import upgrade
from db.repositories import analytics as analytics_repo
from db.repositories import users as users_repo
from db.tables import (
    Assessment,
    Credential,
    RagTrace,
    Recommendation,
    RecommendationFeedback,
    RecommendationItem,
    Score,
    User,
)
from db.types import utcnow
from tests.support import stacks


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param not in stacks.selected_stacks():
        pytest.skip(f"TEST_STACKS excludes {request.param}")
    name = f"mc_custom_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
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


async def _done(
    db: Database, user: User, *, custom: bool, hours_ago: int, band: str, weak: str
) -> uuid.UUID:
    now = utcnow()
    async with db.transaction() as uow:
        assessment = Assessment(
            user_id=user.id, custom=custom, status="done", created_at=now - timedelta(hours=2),
            expires_at=now + timedelta(days=1), submitted_at=now - timedelta(hours=hours_ago + 1),
            completed_at=now - timedelta(hours=hours_ago),
        )  # fmt: skip
        uow.session.add(assessment)
        await uow.session.flush()
        uow.session.add(
            Score(assessment_id=assessment.id,
                  profile_json={"band": band, "improvements": [weak], "strengths": []})
        )  # fmt: skip
        credential = Credential(slug=f"c-{uuid.uuid4().hex[:8]}", title="Credential")
        recommendation = Recommendation(assessment_id=assessment.id, summary_text="s")
        uow.session.add_all([credential, recommendation])
        await uow.session.flush()
        item = RecommendationItem(
            recommendation_id=recommendation.id, credential_id=credential.id, rank=1
        )
        uow.session.add(item)
        await uow.session.flush()
        uow.session.add_all(
            [
                RagTrace(recommendation_id=recommendation.id, item_id=item.id, score=0.5),
                RecommendationFeedback(item_id=item.id, user_id=user.id, accepted=True),
            ]
        )
    return assessment.id


@pytest.mark.filterwarnings("ignore:.*expression-based index.*")
async def test_custom_assessments_are_left_out_of_profiles_filters_and_analytics(
    database: Database,
) -> None:
    async with database.transaction() as uow:
        student = User(email=f"s-{uuid.uuid4().hex[:8]}@example.edu", password_hash="x")
        uow.session.add(student)
    counted = await _done(database, student, custom=False, hours_ago=5, band="beginner",
                          weak="networking")  # fmt: skip
    # Newer, with another band and weakness: it would win everything if it were counted.
    await _done(database, student, custom=True, hours_ago=1, band="advanced", weak="security")

    since = utcnow() - timedelta(days=1)
    async with database.read() as session:
        latest = await users_repo.latest_profiles(session, [student.id])
        assert latest[student.id][0] == counted

        async def students(**filters: str) -> list[uuid.UUID]:
            page = await users_repo.students_page(
                session, advisor_id=None, search=None, first=10, after=None,
                **{"weak_in": None, "band": None, **filters},
            )  # fmt: skip
            return [user.id for user in page.items]

        assert await students(band="beginner") == [student.id]
        assert await students(band="advanced") == []
        assert await students(weak_in="networking") == [student.id]
        assert await students(weak_in="security") == []

        assert len(await analytics_repo.completions_since(session, since)) == 1
        assert len(await analytics_repo.top_similarity_per_bundle(session, since)) == 1
        assert await analytics_repo.feedback_since(session, since) == (1, 1)
