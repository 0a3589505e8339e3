"""Every task function, by name: the arq worker registers these, and the in-process runner
runs the same ones."""

from __future__ import annotations

from jobs.essay_jobs import score_essay
from jobs.pipeline import run_pipeline
from jobs.queue import Task
from jobs.rag_index import rebuild_rag_index
from jobs.rescoring import rescore_essays
from jobs.sweeper import sweep
from jobs.webhooks import deliver_webhook

TASKS: dict[str, Task] = {
    "run_pipeline": run_pipeline,
    "score_essay": score_essay,
    "deliver_webhook": deliver_webhook,
    "rebuild_rag_index": rebuild_rag_index,
    "rescore_essays": rescore_essays,
    "sweep": sweep,  # type: ignore[dict-item]
}
