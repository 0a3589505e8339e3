"""From a `jobs` row to the task that does it. Tasks take only the row id: everything else they
need is in the row, so the sweeper can re-enqueue any row without knowing its task."""

from __future__ import annotations

import uuid

from db.database import UnitOfWork
from db.tables import Job
from jobs.queue import JobQueue

# A submitted pipeline is what a student is waiting for; per-essay jobs are speculative work
# the pipeline can do itself.
PRIORITY_TYPES = frozenset({"pipeline"})

TASK_FOR_TYPE = {
    "pipeline": "run_pipeline",
    "essay": "score_essay",
    "webhook": "deliver_webhook",
    "rag_index": "rebuild_rag_index",
    "rescore": "rescore_essays",
}


async def dispatch(
    queue: JobQueue, job_id: uuid.UUID, job_type: str, arq_id: str | None = None,
    defer_seconds: float = 0,
) -> None:  # fmt: skip
    await queue.enqueue(
        TASK_FOR_TYPE[job_type],
        arq_id or str(job_id),
        defer_seconds,
        priority=job_type in PRIORITY_TYPES,
        job=str(job_id),
    )


def dispatch_after_commit(uow: UnitOfWork, queue: JobQueue, job: Job) -> None:
    """Enqueue once the row is committed. If the enqueue fails, the row is still queued and the
    sweeper enqueues it later: the database, not Redis, is the truth."""
    job_id, job_type = job.id, job.type

    async def send() -> None:
        await dispatch(queue, job_id, job_type)

    uow.after_commit(send)
