"""A real arq worker for the PostgreSQL + Redis stack, running in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from arq.worker import Worker

from jobs.worker import worker_options


@asynccontextmanager
async def running_worker(settings: Any, **overrides: Any) -> AsyncIterator[Worker]:
    options = worker_options(settings)
    options.update(overrides)
    worker = Worker(**options, ctx={"settings": settings}, handle_signals=False, burst=False)
    task = asyncio.create_task(worker.async_run(), name="arq-worker")
    for _ in range(500):  # until on_startup has opened the services
        if "services" in worker.ctx or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await worker.close()
