"""The states of an assessment and which actions each allows.

DRAFT -(submit)-> QUEUED -(worker)-> PROCESSING -> DONE | FAILED; FAILED -(retry)-> QUEUED;
DRAFT -(time)-> EXPIRED. Only a DRAFT takes answers.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from domain.errors import DomainError, ErrorCode


class Status(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


FINISHED = frozenset({Status.DONE, Status.FAILED, Status.EXPIRED})
IN_PIPELINE = frozenset({Status.QUEUED, Status.PROCESSING})


def effective_status(stored: Status, expires_at: datetime, now: datetime) -> Status:
    """A draft past its expiry is EXPIRED even before the sweeper has written it down."""
    if stored is Status.DRAFT and expires_at <= now:
        return Status.EXPIRED
    return stored


def ensure_answerable(status: Status, *field: str) -> None:
    if status is Status.EXPIRED:
        raise DomainError.one(
            ErrorCode.EXPIRED, "This assessment has expired; start a new one.", field or None
        )
    if status is not Status.DRAFT:
        raise DomainError.one(
            ErrorCode.INVALID_STATE,
            f"This assessment is {status.name} and no longer takes answers.",
            field or None,
        )
