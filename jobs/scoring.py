"""The EssayScorer port and the scorers behind it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from domain.essays import EssayResult, EssayTask, lexical_score


class EssayScorer(Protocol):
    name: str

    async def score(
        self, tasks: Sequence[EssayTask], *, assessment_id: uuid.UUID, call_key: str
    ) -> list[EssayResult]:
        """One result per task, in order. `call_key` identifies this call for cost accounting,
        so a re-run of the same job never counts twice."""


class LexicalScorer:
    """Deterministic and instant: no model, no network."""

    name = "lexical"

    async def score(
        self, tasks: Sequence[EssayTask], *, assessment_id: uuid.UUID, call_key: str
    ) -> list[EssayResult]:
        return [lexical_score(task) for task in tasks]
