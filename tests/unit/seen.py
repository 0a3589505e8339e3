"""A student's seen-question history for selection tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def seen_at(ids: Iterable[uuid.UUID], at: datetime = T0) -> dict[uuid.UUID, datetime]:
    """Every id last seen at `at`."""
    return dict.fromkeys(ids, at)


def days_ago(days: int) -> datetime:
    return T0 - timedelta(days=days)
