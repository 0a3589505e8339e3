"""Pipeline stages and the progress a client sees (NFR4: pending, in progress, done; when to
ask again)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.lifecycle import Status


class Stage(StrEnum):
    RULE_SCORE = "rule_score"
    GPT_ESSAYS = "gpt_essays"
    RAG = "rag"
    FUSION = "fusion"


STAGES: tuple[Stage, ...] = (Stage.RULE_SCORE, Stage.GPT_ESSAYS, Stage.RAG, Stage.FUSION)


class StageState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StageView:
    stage: Stage
    state: StageState = StageState.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Progress:
    status: Status
    progress: int
    stages: tuple[StageView, ...]
    degraded: bool
    retry_after_seconds: int | None
    message: str
    at: datetime


# Each stage is a quarter of the work; a stage under way counts half of its quarter.
_WEIGHT = 100 // len(STAGES)
# Polling advice: stages take seconds, so asking every couple of seconds is enough, and a queue
# that has not started yet is asked less often.
_RETRY_QUEUED, _RETRY_PROCESSING = 3, 2


def progress_of(
    status: Status,
    stages: Mapping[Stage, StageView],
    degraded: bool,
    now: datetime,
    last_error: str | None = None,
) -> Progress:
    views = tuple(stages.get(stage, StageView(stage)) for stage in STAGES)
    if status is Status.DONE:
        percent = 100
    else:
        percent = 0
        for view in views:
            if view.state in (StageState.DONE, StageState.SKIPPED):
                percent += _WEIGHT
            elif view.state is StageState.IN_PROGRESS:
                percent += _WEIGHT // 2
        percent = min(percent, 99)
    return Progress(
        status=status,
        progress=percent if status not in (Status.DRAFT, Status.EXPIRED) else 0,
        stages=views,
        degraded=degraded,
        retry_after_seconds=_retry_after(status),
        message=_message(status, views, last_error),
        at=now,
    )


def _retry_after(status: Status) -> int | None:
    if status is Status.QUEUED:
        return _RETRY_QUEUED
    if status is Status.PROCESSING:
        return _RETRY_PROCESSING
    return None


def _message(status: Status, views: tuple[StageView, ...], last_error: str | None) -> str:
    if status is Status.DRAFT:
        return "Not submitted yet."
    if status is Status.EXPIRED:
        return "This assessment expired before it was submitted."
    if status is Status.QUEUED:
        return "Submitted; waiting for a worker."
    if status is Status.DONE:
        return "Scored. The profile and recommendations are ready."
    if status is Status.FAILED:
        reason = f": {last_error}" if last_error else ""
        return f"Scoring failed{reason}. An administrator can retry it."
    running = next((v for v in views if v.state is StageState.IN_PROGRESS), None)
    if running is not None and running.attempts > 1:
        return f"Working on {running.stage.name} (attempt {running.attempts})."
    if running is not None:
        return f"Working on {running.stage.name}."
    return "Processing."
