"""The root Subscription: live pipeline and index progress over websockets."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import progress as progress_resolvers
from resolvers import rag_index as rag_resolvers
from resolvers.context import Context
from schema.types.progress import AssessmentProgress
from schema.types.rag import RagIndexStats


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Streams pipeline progress of one assessment: first the current state at "
        "once, then one event per stage change, published by the workers over Redis pub/sub; "
        "completes after DONE or FAILED. Allowed for the owner, their advisor and admins."
    )
    async def assessment_progress(
        self, info: strawberry.Info[Context, None], assessment_id: strawberry.ID
    ) -> AsyncGenerator[AssessmentProgress, None]:
        async for key, progress in progress_resolvers.watch(info.context, str(assessment_id)):
            yield AssessmentProgress.from_domain(key, progress)

    @strawberry.subscription(
        description="ADMIN: the vector index statistics now, then after each step of the "
        "running index job (indexed / total), until it finishes; at once when none runs."
    )
    async def rag_index_progress(
        self, info: strawberry.Info[Context, None]
    ) -> AsyncGenerator[RagIndexStats, None]:
        async for stats in rag_resolvers.watch(info.context):
            yield RagIndexStats.from_stats(stats)
