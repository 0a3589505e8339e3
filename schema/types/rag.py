from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.rag_index import IndexStats
from schema.errors import UserError
from schema.types.assessments import Job


@strawberry.type
class RagIndexStats:
    embeddings: int = strawberry.field(description="Vectors (catalog passages) in the index.")
    model: str
    dim: int
    last_build: datetime | None = strawberry.field(
        description="When the last index job (rebuild or re-index) finished."
    )
    state: str = strawberry.field(description="ok, rebuilding, or unavailable")
    indexed: int | None = strawberry.field(
        default=None, description="While rebuilding (subscription): credentials embedded so far."
    )
    total: int | None = strawberry.field(
        default=None, description="While rebuilding (subscription): credentials to embed."
    )

    @classmethod
    def from_stats(cls, stats: IndexStats) -> RagIndexStats:
        return cls(
            embeddings=stats.embeddings,
            model=stats.model,
            dim=stats.dim,
            last_build=stats.last_build,
            state=stats.state,
            indexed=stats.indexed,
            total=stats.total,
        )


@strawberry.type
class RebuildIndexPayload:
    status: str = strawberry.field(
        default="refused", description="queued, already-running (that job is returned), refused"
    )
    started_at: datetime | None = None
    job: Job | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
