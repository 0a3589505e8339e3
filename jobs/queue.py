"""The queue port: where work goes after the transaction that created it has committed.

ArqQueue (REDIS_URL set) enqueues to arq with the `jobs` row id as the arq job id, so a job
enqueued twice (a retry of the enqueue, the sweeper) runs once. InProcessQueue runs the same task
functions inside the API process for the embedded default."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from arq.connections import ArqRedis

log = logging.getLogger(__name__)

Task = Callable[..., Awaitable[None]]


class JobQueue(Protocol):
    async def enqueue(
        self, task: str, job_id: str, defer_seconds: float = 0, **kwargs: Any
    ) -> None: ...

    async def close(self) -> None: ...


class ArqQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    async def enqueue(
        self, task: str, job_id: str, defer_seconds: float = 0, **kwargs: Any
    ) -> None:
        await self.redis.enqueue_job(
            task,
            _job_id=job_id,
            _queue_name=self.queue_name,
            _defer_by=defer_seconds or None,
            **kwargs,
        )

    async def close(self) -> None:
        return None


class InProcessQueue:
    """Runs tasks as asyncio tasks of this process, with the same context keys a worker has."""

    def __init__(self, tasks: Mapping[str, Task]) -> None:
        self.tasks = tasks
        self.ctx: dict[str, Any] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    def bind(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx

    async def enqueue(
        self, task: str, job_id: str, defer_seconds: float = 0, **kwargs: Any
    ) -> None:
        if job_id in self._running:
            return  # already queued or running: arq would refuse the duplicate id too
        function = self.tasks[task]
        self._running[job_id] = asyncio.create_task(
            self._run(function, job_id, defer_seconds, kwargs), name=f"job:{task}:{job_id}"
        )

    async def _run(self, function: Task, job_id: str, defer: float, kwargs: dict[str, Any]) -> None:
        try:
            if defer:
                await asyncio.sleep(defer)
            await function({**self.ctx, "job_id": job_id, "job_try": 1}, **kwargs)
        except Exception:
            log.exception("in-process job failed", extra={"job": job_id})
        finally:
            self._running.pop(job_id, None)

    async def close(self) -> None:
        for running in list(self._running.values()):
            running.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
