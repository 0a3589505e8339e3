"""The queue port: where work goes after the transaction that created it has committed.

ArqQueue (REDIS_URL set) enqueues to arq with the `jobs` row id as the arq job id, so a job
enqueued twice (a retried enqueue, the sweeper) runs once. InProcessQueue runs the same task
functions in this process with the same retry policy, for the embedded default."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix

from jobs.observability import job_id_var, metrics, request_id_var
from jobs.retry import POLICIES, RetryPolicy

log = logging.getLogger(__name__)
PRIORITY_HEAD_START = timedelta(seconds=60)

Task = Callable[..., Awaitable[None]]


class JobQueue(Protocol):
    async def enqueue(
        self, task: str, job_id: str, defer_seconds: float = 0, priority: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        """`priority` jobs go ahead of everything already waiting (a submitted pipeline should
        not queue behind speculative per-essay jobs)."""

    async def is_known(self, job_id: str) -> bool:
        """Whether the queue still holds this job (waiting, deferred or running)."""

    async def depth(self) -> int: ...

    async def close(self) -> None: ...


class ArqQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    async def enqueue(
        self, task: str, job_id: str, defer_seconds: float = 0, priority: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        # arq takes jobs in order of their score (due time); a priority job is due a minute
        # ago, so it is next in line.
        until = datetime.now(UTC) - PRIORITY_HEAD_START if priority and not defer_seconds else None
        for _ in range(2):
            queued = await self.redis.enqueue_job(
                task,
                _job_id=job_id,
                _queue_name=self.queue_name,
                _defer_by=defer_seconds or None,
                _defer_until=until,
                **kwargs,
            )
            if queued is not None or await self.is_known(job_id):
                return  # queued now, or already waiting or running: one run either way
            # arq silently refuses an id while it keeps the result of an earlier run of it
            # (keep_result). A run that failed before it could touch its jobs row (PostgreSQL
            # down when it claimed the row) leaves the row queued and only that result behind;
            # the row is the truth, so the stale result goes and the enqueue is tried again.
            # Found by `make chaos` (PostgreSQL restart): the sweeper spent its recoveries on
            # refused enqueues and failed the assessment ("gave up after 5 recoveries").
            await self.redis.delete(result_key_prefix + job_id)

    async def is_known(self, job_id: str) -> bool:
        found = await self.redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
        return bool(found)

    async def depth(self) -> int:
        return int(await self.redis.zcard(self.queue_name))

    async def close(self) -> None:
        return None


class InProcessQueue:
    """Runs tasks as asyncio tasks of this process. The context a task gets has the same keys
    as an arq worker's (`services`, `job_id`, `job_try`), and arq's Retry means the same."""

    def __init__(self, tasks: Mapping[str, Task], policies: Mapping[str, RetryPolicy] = POLICIES):
        self.tasks = tasks
        self.policies = policies
        self.ctx: dict[str, Any] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def bind(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx

    async def enqueue(
        self, task: str, job_id: str, defer_seconds: float = 0, priority: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        # Every in-process job starts at once as a task of its own: there is no line to jump.
        if job_id in self._running or self._closed:
            return  # already queued or running: arq refuses a duplicate id the same way
        function = self.tasks[task]
        self._running[job_id] = asyncio.create_task(
            self._run(task, function, job_id, defer_seconds, kwargs), name=f"job:{task}:{job_id}"
        )

    async def is_known(self, job_id: str) -> bool:
        return job_id in self._running

    async def depth(self) -> int:
        return len(self._running)

    async def _run(
        self, name: str, function: Task, job_id: str, defer: float, kwargs: dict[str, Any]
    ) -> None:
        policy = self.policies[name]
        token = job_id_var.set(job_id)
        # The task was created inside the request that enqueued it and inherited its context;
        # its log lines belong to the job, not to that request.
        request_id_var.set(None)
        try:
            if defer:
                await asyncio.sleep(defer)
            for attempt in range(1, policy.max_tries + 1):
                ctx = {
                    **self.ctx,
                    "job_id": job_id,
                    "job_try": attempt,
                    "enqueue_time": time.time(),
                }
                try:
                    async with asyncio.timeout(policy.timeout_seconds):
                        await function(ctx, **kwargs)
                    return
                except Retry as retry:
                    metrics().jobs.add(1, {"task": name, "event": "retried"})
                    await asyncio.sleep((retry.defer_score or 0) / 1000)
                except TimeoutError:
                    log.warning("job timed out", extra={"task": name, "try": attempt})
                    metrics().jobs.add(1, {"task": name, "event": "failed"})
                    return
            log.error("job gave up after its last try", extra={"task": name})
        except asyncio.CancelledError:
            raise
        except Exception:
            metrics().jobs.add(1, {"task": name, "event": "failed"})
            log.exception("in-process job failed", extra={"task": name})
        finally:
            job_id_var.reset(token)
            self._running.pop(job_id, None)

    async def drain(self, limit_seconds: float = 30) -> None:
        """Wait until every queued job has finished (tests, shutdown)."""
        deadline = time.monotonic() + limit_seconds
        while self._running and time.monotonic() < deadline:
            await asyncio.wait(list(self._running.values()), timeout=0.5)

    async def close(self) -> None:
        self._closed = True
        for running in list(self._running.values()):
            running.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
