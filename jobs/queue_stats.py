"""How the background work stands right now: read by /metrics sampling and by analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.repositories import jobs as jobs_repo
from db.types import utcnow
from jobs.services import Services


@dataclass(frozen=True)
class QueueSnapshot:
    depth: int
    oldest_age_seconds: float
    failed_last_24h: int


async def queue_snapshot(services: Services) -> QueueSnapshot:
    """Depth comes from the queue itself (Redis or the in-process runner); the age of the oldest
    waiting job and the failures come from the jobs table, which outlives a lost Redis."""
    depth = await services.queue.depth()
    now = utcnow()
    async with services.db.read() as session:
        oldest = await jobs_repo.oldest_waiting(session)
        failed = await jobs_repo.count_failed_since(session, now - timedelta(hours=24))
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return QueueSnapshot(depth=depth, oldest_age_seconds=age, failed_last_24h=failed)
