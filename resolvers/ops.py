"""Health and readiness of the process's dependencies."""

from __future__ import annotations

import asyncio

from jobs.services import Services
from resolvers.context import Context


async def dependency_states(services: Services) -> dict[str, str]:
    db, redis, chroma = await asyncio.gather(
        services.db_state(), services.redis_state(), services.vector_index.heartbeat()
    )
    return {"db": db, "redis": redis, "chroma": "ok" if chroma else "down"}


async def health(ctx: Context) -> dict[str, str]:
    return {"api": "ok", **await dependency_states(ctx.services)}
