"""The long-lived clients of one process, opened and closed together.

Built in exactly two places: the API's lifespan (app.py) and the worker's on_startup
(jobs/worker.py). Everything else receives them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from db.database import Database, create_engine
from db.repositories import jobs as jobs_repo
from db.tables import Job
from db.types import utcnow
from jobs.pubsub import Hub, MemoryHub, RedisHub
from jobs.queue import ArqQueue, InProcessQueue, JobQueue
from settings import Settings

if TYPE_CHECKING:
    from jobs.llm import LlmClient
    from jobs.recommender import Recommender
    from jobs.scoring import EssayScorer
    from jobs.vector_index import VectorIndex

log = logging.getLogger(__name__)

ServiceState = Literal["ok", "down", "disabled"]


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: ArqRedis | None
    queue: JobQueue
    hub: Hub
    http: httpx.AsyncClient
    llm: LlmClient = None  # type: ignore[assignment]  # set right after construction
    scorer: EssayScorer = None  # type: ignore[assignment]
    local_scorer: EssayScorer = None  # type: ignore[assignment]
    recommender: Recommender = None  # type: ignore[assignment]
    vector_index: VectorIndex = None  # type: ignore[assignment]

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

    async def claim_job(self, job_id: uuid.UUID, lease_seconds: float) -> Job | None:
        """Take a jobs row for this run (see jobs_repo.claim); None when it is done already or
        another worker holds it."""
        async with self.db.transaction() as uow:
            return await jobs_repo.claim(uow.session, job_id, utcnow(), lease_seconds)

    async def settle_job(self, job_id: uuid.UUID, status: str, error: str | None = None) -> None:
        """Finish a jobs row (done/failed) or hand it back for a retry (queued)."""
        async with self.db.transaction() as uow:
            await jobs_repo.settle(uow.session, job_id, status, utcnow(), error)


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
    """Every client of the process. With REDIS_URL: arq queue and Redis pub/sub; without: the
    in-process runner (the same task functions) and an in-memory hub."""
    from jobs.checked_http import checked_client
    from jobs.embeddings import choose_embedder
    from jobs.llm import LlmClient, openai_client
    from jobs.recommender import CatalogRecommender
    from jobs.scoring import LlmScorer, LocalScorer
    from jobs.tasks import TASKS
    from jobs.vector_index import VectorIndex

    async with AsyncExitStack() as stack:
        database = Database(create_engine(settings.database_url, settings.db_pool_size))
        stack.push_async_callback(database.dispose)
        # Webhook deliveries: connects only to addresses that passed the SSRF check.
        http = checked_client(settings.allow_private_webhooks, settings.webhook_timeout_seconds)
        stack.push_async_callback(http.aclose)
        redis = None
        queue: JobQueue
        hub: Hub
        if settings.redis_url:
            redis = redis_client(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            queue = ArqQueue(redis, queue_name(settings))
            hub = RedisHub(redis)
        else:
            queue = InProcessQueue(TASKS)
            hub = MemoryHub()
        stack.push_async_callback(hub.close)
        stack.push_async_callback(queue.close)
        services = Services(
            settings=settings, db=database, redis=redis, queue=queue, hub=hub, http=http
        )
        client = openai_client(settings)
        if client is not None:
            stack.push_async_callback(client.close)
        services.llm = LlmClient(client, settings, database)
        local = LocalScorer()
        services.local_scorer = local
        services.scorer = (
            LlmScorer(services.llm, local, settings.llm_essay_max_tokens)
            if services.llm.configured
            else local
        )
        services.vector_index = VectorIndex(
            settings, choose_embedder(services.llm, settings.embedding_model)
        )
        stack.callback(services.vector_index.close)
        services.recommender = CatalogRecommender(services)
        if isinstance(queue, InProcessQueue):
            queue.bind(worker_context(services))
        yield services


def worker_context(services: Services) -> dict[str, Any]:
    """What a task's ctx holds, in the arq worker and in-process alike."""
    return {"services": services}


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_namespace}:arq:queue"
