"""DataLoaders, created per request. Batch functions read through the request's read session
(Context.read, which serialises its use) and return values in key order."""

from __future__ import annotations

import contextlib
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db.repositories import assessments as assessments_repo
from db.repositories import catalog as catalog_repo
from db.repositories import jobs as jobs_repo
from db.repositories import results as results_repo
from db.repositories import stages as stages_repo
from db.repositories import users as users_repo
from db.repositories.results import StoredResult
from db.tables import (
    Assessment,
    AssessmentQuestion,
    AssessmentStage,
    Credential,
    Job,
    RecommendationFeedback,
    Response,
    User,
)
from domain.progress import Stage

K = TypeVar("K")
V = TypeVar("V")


Reader = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class SnapshotCache:
    """An assessment's questions never change after it starts (they are snapshots), so every
    request of this process can share them: the answer path reads them once per assessment,
    not once per answer. Bounded LRU; the rows are detached and only ever read."""

    def __init__(self, size: int = 5000) -> None:
        self._size = size
        self._rows: OrderedDict[uuid.UUID, list[AssessmentQuestion]] = OrderedDict()

    def __contains__(self, key: uuid.UUID) -> bool:
        return key in self._rows

    def get(self, key: uuid.UUID) -> list[AssessmentQuestion] | None:
        rows = self._rows.get(key)
        if rows is not None:
            self._rows.move_to_end(key)
        return rows

    def clear(self) -> None:
        self._rows.clear()

    def put(self, key: uuid.UUID, rows: list[AssessmentQuestion]) -> None:
        self._rows[key] = rows
        self._rows.move_to_end(key)
        while len(self._rows) > self._size:
            self._rows.popitem(last=False)


SNAPSHOTS = SnapshotCache()


class Loaders:
    def __init__(self, read: Reader) -> None:
        self._read = read
        self.user: DataLoader[uuid.UUID, User | None] = self._by_key(users_repo.by_ids, None)
        self.advisor_id: DataLoader[uuid.UUID, uuid.UUID | None] = self._by_key(
            users_repo.advisor_ids_for, None
        )
        self.assessment: DataLoader[uuid.UUID, Assessment | None] = self._by_key(
            assessments_repo.by_ids, None
        )
        self.assessment_questions: DataLoader[uuid.UUID, list[AssessmentQuestion]] = DataLoader(
            load_fn=self._snapshots
        )
        self.responses: DataLoader[uuid.UUID, list[Response]] = self._by_key(
            assessments_repo.responses_for, []
        )
        self.pipeline_job: DataLoader[uuid.UUID, Job | None] = self._by_key(
            _latest_pipeline_jobs, None
        )
        self.stages: DataLoader[uuid.UUID, dict[Stage, AssessmentStage]] = self._by_key(_stages, {})
        self.result: DataLoader[uuid.UUID, StoredResult | None] = self._by_key(_results, None)
        # Per user: (assessment id, stored profile) of their latest DONE assessment.
        self.latest_profile: DataLoader[uuid.UUID, tuple[uuid.UUID, dict[str, Any]] | None] = (
            self._by_key(users_repo.latest_profiles, None)
        )
        self.credential: DataLoader[uuid.UUID, Credential | None] = self._by_key(
            catalog_repo.by_ids, None
        )
        # Keyed by (user id, recommendation item id): the caller's own feedback.
        self.feedback: DataLoader[tuple[uuid.UUID, uuid.UUID], RecommendationFeedback | None] = (
            DataLoader(load_fn=self._feedback)
        )

    def _by_key(
        self,
        fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, Any]]],
        missing: V,
    ) -> DataLoader[K, V]:
        async def load(keys: Sequence[K]) -> list[V]:
            async with self._read() as session:
                found = await fetch(session, keys)
            return [found.get(key, missing) for key in keys]

        return DataLoader(load_fn=load)

    async def _snapshots(self, keys: Sequence[uuid.UUID]) -> list[list[AssessmentQuestion]]:
        missing = [key for key in keys if key not in SNAPSHOTS]
        if missing:
            async with self._read() as session:
                found = await assessments_repo.questions_for(session, missing)
            for key, rows in found.items():
                SNAPSHOTS.put(key, rows)
        return [SNAPSHOTS.get(key) or [] for key in keys]

    async def _feedback(
        self, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
    ) -> list[RecommendationFeedback | None]:
        found: dict[tuple[uuid.UUID, uuid.UUID], RecommendationFeedback] = {}
        async with self._read() as session:
            for user_id in {user for user, _ in keys}:
                items = [item for user, item in keys if user == user_id]
                rows = await results_repo.feedback_of(session, user_id, items)
                found.update({(user_id, item): row for item, row in rows.items()})
        return [found.get(key) for key in keys]


async def _stages(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[Stage, AssessmentStage]]:
    return await stages_repo.of_many(session, list(keys))


async def _results(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StoredResult]:
    return await results_repo.load(session, keys)


async def _latest_pipeline_jobs(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Job | None]:
    return dict(await jobs_repo.latest_for_many(session, keys, "pipeline"))


__all__ = ["Assessment", "Loaders", "User"]


def forget(loader: DataLoader[K, V], key: K) -> None:
    """Drop a cached value so the next load reads fresh (DataLoader.clear raises for a key it
    never loaded)."""
    with contextlib.suppress(KeyError):
        loader.clear(key)
