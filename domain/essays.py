"""Essay scoring: the task a scorer gets, the result it must give back, and the rules every
scorer's result goes through (clamped criteria, the weighted score recomputed here, never taken
from the scorer). The scorers themselves: domain/essay_local.py (offline) and the LLM prompt in
domain/essay_prompt.py."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from domain.questions import DEFAULT_RUBRIC, Criterion


@dataclass(frozen=True)
class EssayTask:
    key: str  # the assessment question id, opaque to the scorer
    prompt: str
    answer: str
    reference_answer: str | None = None
    key_points: tuple[str, ...] = ()
    rubric: tuple[Criterion, ...] = DEFAULT_RUBRIC


@dataclass(frozen=True)
class CriterionScore:
    name: str
    score: float
    justification: str = ""


@dataclass(frozen=True)
class EssayResult:
    key: str
    score: float
    criteria: tuple[CriterionScore, ...]
    feedback: str
    scored_by: str  # "llm" or "local"
    degraded: bool = False
    prompt_version: str = ""
    model: str | None = None

    def as_fallback(self) -> EssayResult:
        """The same result, marked as standing in for an LLM that could not be used."""
        return EssayResult(self.key, self.score, self.criteria, self.feedback, self.scored_by,
                           True, self.prompt_version, self.model)  # fmt: skip


def clamp01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def weighted_score(criteria: Sequence[CriterionScore], rubric: Sequence[Criterion]) -> float:
    """The rubric-weighted mean, computed here: a scorer's own total is never trusted. A
    criterion the scorer left out counts 0."""
    by_name = {c.name: clamp01(c.score) for c in criteria}
    total_weight = sum(c.weight for c in rubric) or 1.0
    return round(sum(by_name.get(c.name, 0.0) * c.weight for c in rubric) / total_weight, 4)


def answer_hash(text: str) -> str:
    """Identifies the exact answer a score belongs to: a re-answered essay needs a new score."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
