"""Progress snapshots: read from the database, published on `<namespace>:assessment:<id>`."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from db.repositories import assessments as assessments_repo
from db.repositories import jobs as jobs_repo
from db.repositories import stages as stages_repo
from db.types import utcnow
from domain import ids
from domain.lifecycle import Status, effective_status
from domain.progress import Progress, Stage, StageState, StageView, progress_of
from jobs.services import Services

log = logging.getLogger(__name__)


def channel(services: Services, assessment_id: uuid.UUID) -> str:
    return services.key("assessment", ids.encode(ids.Kind.ASSESSMENT, assessment_id))


async def snapshot(services: Services, assessment_id: uuid.UUID) -> Progress | None:
    async with services.db.read() as session:
        assessment = await assessments_repo.by_id(session, assessment_id)
        if assessment is None:
            return None
        rows = await stages_repo.of(session, assessment_id)
        job = await jobs_repo.latest_for(session, assessment_id, "pipeline")
    return progress_from_rows(assessment, rows, job.last_error if job else None)


def progress_from_rows(assessment: Any, rows: dict[Stage, Any], last_error: str | None) -> Progress:
    now = utcnow()
    status = effective_status(Status(assessment.status), assessment.expires_at, now)
    views = {
        stage: StageView(
            stage=stage,
            state=StageState(row.state),
            attempts=row.attempts,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )
        for stage, row in rows.items()
    }
    return progress_of(status, views, bool(assessment.degraded), now, last_error)


def to_message(assessment_id: uuid.UUID, progress: Progress) -> dict[str, Any]:
    return {
        "assessmentId": ids.encode(ids.Kind.ASSESSMENT, assessment_id),
        "status": progress.status.value,
        "progress": progress.progress,
        "degraded": progress.degraded,
        "retryAfterSeconds": progress.retry_after_seconds,
        "message": progress.message,
        "at": progress.at.isoformat(),
        "stages": [
            {
                "stage": v.stage.value,
                "state": v.state.value,
                "attempts": v.attempts,
                "startedAt": v.started_at.isoformat() if v.started_at else None,
                "finishedAt": v.finished_at.isoformat() if v.finished_at else None,
            }
            for v in progress.stages
        ],
    }


def from_message(message: dict[str, Any]) -> Progress:
    def when(raw: str | None) -> datetime | None:
        return datetime.fromisoformat(raw) if raw else None

    return Progress(
        status=Status(message["status"]),
        progress=int(message["progress"]),
        stages=tuple(
            StageView(
                stage=Stage(s["stage"]),
                state=StageState(s["state"]),
                attempts=int(s["attempts"]),
                started_at=when(s.get("startedAt")),
                finished_at=when(s.get("finishedAt")),
            )
            for s in message["stages"]
        ),
        degraded=bool(message["degraded"]),
        retry_after_seconds=message.get("retryAfterSeconds"),
        message=str(message.get("message") or ""),
        at=datetime.fromisoformat(message["at"]),
    )


async def publish(services: Services, assessment_id: uuid.UUID) -> None:
    """Publish the stored state (read back from the database)."""
    progress = await snapshot(services, assessment_id)
    if progress is not None:
        await publish_progress(services, assessment_id, progress)


async def publish_progress(
    services: Services, assessment_id: uuid.UUID, progress: Progress
) -> None:
    """Best effort: a subscriber that misses an event re-reads the stored state."""
    try:
        await services.hub.publish(
            channel(services, assessment_id), to_message(assessment_id, progress)
        )
    except Exception:  # the pipeline must not fail because Redis pub/sub hiccuped
        log.warning("could not publish progress", exc_info=True)
