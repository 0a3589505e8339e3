from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from domain import ids
from domain.lifecycle import Status
from domain.progress import Progress, Stage, StageState

strawberry.enum(Stage, name="PipelineStage")
strawberry.enum(StageState, name="StageState")


@strawberry.type
class StageProgress:
    stage: Stage
    state: StageState
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


@strawberry.type
class AssessmentProgress:
    assessment_id: strawberry.ID
    status: Status
    progress: int = strawberry.field(description="0..100")
    stages: list[StageProgress]
    degraded: bool = strawberry.field(
        description="True when any stage fell back (LLM or vector store unavailable, budget "
        "exhausted)."
    )
    retry_after_seconds: int | None = strawberry.field(
        description="Seconds a polling client should wait before asking again (null when finished)."
    )
    message: str | None
    at: datetime

    @classmethod
    def from_domain(cls, assessment_id: uuid.UUID, progress: Progress) -> AssessmentProgress:
        return cls(
            assessment_id=strawberry.ID(ids.encode(ids.Kind.ASSESSMENT, assessment_id)),
            status=progress.status,
            progress=progress.progress,
            stages=[
                StageProgress(
                    stage=v.stage,
                    state=v.state,
                    started_at=v.started_at,
                    finished_at=v.finished_at,
                    attempts=v.attempts,
                )
                for v in progress.stages
            ],
            degraded=progress.degraded,
            retry_after_seconds=progress.retry_after_seconds,
            message=progress.message,
            at=progress.at,
        )
