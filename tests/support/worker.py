"""A real arq worker for the PostgreSQL + Redis stack, running in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
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


@contextmanager
def worker_subprocess(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`arq jobs.worker.WorkerSettings` as a process of its own, the way `make worker` runs it:
    for drills that kill it. Killed on the way out if it still runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "arq", "jobs.worker.WorkerSettings"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
