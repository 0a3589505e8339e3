"""The arq worker: `arq jobs.worker.WorkerSettings` (make worker), for when REDIS_URL is set.

Clients are opened in on_startup and closed in on_shutdown; the task functions are the same
ones the API runs in-process without Redis. The sweeper runs as an arq cron job every
SWEEP_INTERVAL_SECONDS; arq's cron ids keep two workers from running the same tick twice, and
the sweeper's own compare-and-set updates make an overlap harmless anyway.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobs.observability import configure_logging, metrics
from jobs.retry import POLICIES
from jobs.services import open_services, queue_name, worker_context
from jobs.tasks import TASKS
from settings import Settings, load_settings

log = logging.getLogger("worker")


async def on_startup(ctx: dict[str, Any]) -> None:
    given: Settings | None = ctx.get("settings")
    settings = given.validate_for_startup() if given else load_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    stack = AsyncExitStack()
    services = await stack.enter_async_context(open_services(settings))
    ctx["_stack"] = stack
    ctx.update(worker_context(services))
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        metrics()
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    log.info("worker started", extra={"queue": queue_name(settings)})


async def on_shutdown(ctx: dict[str, Any]) -> None:
    stack: AsyncExitStack | None = ctx.get("_stack")
    if stack is not None:
        await stack.aclose()
    log.info("worker stopped")


def _seconds(interval: float) -> set[int]:
    step = max(1, min(60, round(interval)))
    return set(range(0, 60, step))


def redis_settings(url: str) -> RedisSettings:
    """arq's connection, made to ride out a Redis restart.

    arq's poll loop has no reconnect of its own: with redis-py's default (no retries) the first
    command after Redis restarts, even a restart of half a second, raises ConnectionError; the
    worker stops taking jobs, waits for the ones it runs and exits (found by `make chaos`, the
    Redis restart drill: without a supervisor to restart it, every job queued afterwards waits
    forever). Retrying refused connections (OSError) and dropped ones, with backoff of up to
    3 s, keeps the worker polling through about a minute of outage (at least 40 s); a longer
    one still ends the process, for the supervisor to restart (compose: restart:
    unless-stopped)."""
    options = RedisSettings.from_dsn(url)
    options.retry = Retry(EqualJitterBackoff(cap=3.0, base=0.1), retries=30)
    options.retry_on_error = [RedisConnectionError, RedisTimeoutError, OSError]
    return options


def worker_options(settings: Settings) -> dict[str, Any]:
    """Everything WorkerSettings says, built from settings (tests build workers with their
    own settings through this)."""
    functions: list[Any] = [
        func(
            TASKS[name],  # type: ignore[arg-type]
            name=name,
            max_tries=policy.max_tries,
            timeout=policy.timeout_seconds + 15,
        )
        for name, policy in POLICIES.items()
        if name != "sweep"
    ]
    return {
        "functions": functions,
        "cron_jobs": [
            cron(
                TASKS["sweep"],  # type: ignore[arg-type]
                # arq's cron job ids are `<name>:<time>`, global in Redis (not per queue): the
                # namespace keeps deployments that share a Redis from skipping each other's
                # sweeps.
                name=f"cron:{settings.redis_namespace}:sweep",
                second=_seconds(settings.sweep_interval_seconds),
                run_at_startup=True,
                timeout=POLICIES["sweep"].timeout_seconds,
            )
        ],
        "redis_settings": redis_settings(settings.redis_url or "redis://localhost:6379"),
        "queue_name": queue_name(settings),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        # Each hop through the queue waits up to poll_delay; the default 0.5 s would dominate
        # a pipeline that itself takes well under a second.
        "poll_delay": settings.worker_poll_delay_seconds,
        "max_jobs": settings.worker_max_jobs,
        "keep_result": 60,
        "job_completion_wait": 20,
    }


class WorkerSettings:
    """Read by the arq CLI."""

    _options: ClassVar[dict[str, Any]] = worker_options(Settings())
    functions = _options["functions"]
    cron_jobs = _options["cron_jobs"]
    redis_settings = _options["redis_settings"]
    queue_name = _options["queue_name"]
    on_startup = _options["on_startup"]
    on_shutdown = _options["on_shutdown"]
    poll_delay = _options["poll_delay"]
    max_jobs = _options["max_jobs"]
    keep_result = _options["keep_result"]
    job_completion_wait = _options["job_completion_wait"]
