"""UserError in payloads, and the helper that turns DomainError into one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from starlette.responses import Response

from domain.errors import DomainError, Problem
from domain.errors import ErrorCode as DomainErrorCode

# Registers the domain enum with Strawberry (in place) under its contract name.
strawberry.enum(DomainErrorCode, name="ErrorCode")


@strawberry.type(
    description="A problem the caller can fix. field is the path of the offending input, e.g. "
    '["input", "responses", "1", "answer"].'
)
class UserError:
    field: list[str] | None
    code: DomainErrorCode
    message: str
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="Set with RATE_LIMITED: seconds to wait before trying again."
    )
    retry_at: datetime | None = strawberry.field(
        default=None,
        description="Set with RATE_LIMITED when the wait ends at a known time (a retake "
        "cooldown): when the next attempt opens.",
    )

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        retry = problem.extra.get("retryAfterSeconds")
        retry_at = problem.extra.get("retryAt")
        return cls(
            field=list(problem.field) if problem.field else None,
            code=problem.code,
            message=problem.message,
            retry_after_seconds=int(retry) if isinstance(retry, int) else None,
            retry_at=retry_at if isinstance(retry_at, datetime) else None,
        )


P = TypeVar("P")


async def payload_or_errors(
    info: strawberry.Info, make_error_payload: Callable[..., P], action: Awaitable[P]
) -> P:
    """Run a mutation; problems the caller can fix become the payload's `errors`."""
    try:
        return await action
    except DomainError as exc:
        note_user_error(info, exc)
        return make_error_payload(errors=[UserError.from_problem(p) for p in exc.problems])


def note_user_error(info: strawberry.Info, exc: DomainError) -> None:
    context: Any = info.context
    context.notes["outcome"] = "user_error"
    retries = [p.extra["retryAfterSeconds"] for p in exc.problems if "retryAfterSeconds" in p.extra]
    if retries:
        retry_after = max(int(r) for r in retries)  # type: ignore[call-overload]
        context.notes["retry_after"] = retry_after
        if isinstance(context.response, Response):
            context.response.headers["Retry-After"] = str(retry_after)
