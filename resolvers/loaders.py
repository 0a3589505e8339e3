"""DataLoaders, created per request. Batch functions open their own short read session (GraphQL
resolves sibling fields concurrently, and one AsyncSession must not be shared between concurrent
tasks) and return values in key order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from db.database import Database
from db.repositories import users as users_repo
from db.tables import User


class Loaders:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.user = DataLoader[uuid.UUID, User | None](load_fn=self._users)
        self.advisor_id = DataLoader[uuid.UUID, uuid.UUID | None](load_fn=self._advisor_ids)

    async def _users(self, keys: Sequence[uuid.UUID]) -> list[User | None]:
        async with self._db.read() as session:
            found = await users_repo.by_ids(session, keys)
        return [found.get(key) for key in keys]

    async def _advisor_ids(self, keys: Sequence[uuid.UUID]) -> list[uuid.UUID | None]:
        async with self._db.read() as session:
            found = await users_repo.advisor_ids_for(session, keys)
        return [found.get(key) for key in keys]
