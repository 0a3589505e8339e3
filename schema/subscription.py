"""The root Subscription: live pipeline progress over websockets."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import progress as progress_resolvers
from resolvers.context import Context
from schema.types.progress import AssessmentProgress


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
