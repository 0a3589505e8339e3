"""The long-lived clients of one process, opened and closed together.

Built in exactly two places: the API's lifespan (app.py) and the worker's on_startup
(jobs/worker.py). Everything else receives them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from db.database import Database, create_engine
from jobs.queue import ArqQueue, InProcessQueue, JobQueue
from jobs.tasks import TASKS
from settings import Settings

log = logging.getLogger(__name__)

ServiceState = Literal["ok", "down", "disabled"]


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: ArqRedis | None
    queue: JobQueue

    def key(self, *parts: str) -> str:
        """A Redis key (or channel, or queue name) inside this deployment's namespace."""
        return ":".join((self.settings.redis_namespace, *parts))

    async def redis_state(self) -> ServiceState:
        if self.redis is None:
            return "disabled"
        try:
            await self.redis.ping()
            return "ok"
        except Exception:
            return "down"

    async def db_state(self) -> ServiceState:
        return "ok" if await self.db.ping() else "down"


def redis_client(url: str) -> ArqRedis:
    """Connects lazily: a Redis that is down at startup makes /readyz say so instead of keeping
    the API from starting; redis-py reconnects by itself when it is back."""
    pool = ConnectionPool.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
        retry_on_timeout=True,
    )
    return ArqRedis(connection_pool=pool)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        database = Database(create_engine(settings.database_url, settings.db_pool_size))
        stack.push_async_callback(database.dispose)
        redis = None
        queue: JobQueue
        if settings.redis_url:
            redis = redis_client(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            queue = ArqQueue(redis, queue_name(settings))
        else:
            queue = InProcessQueue(TASKS)
        stack.push_async_callback(queue.close)
        services = Services(settings=settings, db=database, redis=redis, queue=queue)
        if isinstance(queue, InProcessQueue):
            queue.bind({"services": services})
        yield services


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_namespace}:arq:queue"
