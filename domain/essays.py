"""Essay scoring: the task a scorer gets, the result it must give back, and the rules every
scorer's result goes through (clamped criteria, the weighted score recomputed here, never taken
from the scorer). The scorers themselves: domain/essay_local.py (offline) and the LLM prompt in
domain/essay_prompt.py."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from domain.essay_flags import FLAGGED_CEILING, EssayFlag
from domain.questions import DEFAULT_RUBRIC, Criterion


@dataclass(frozen=True)
class OtherQuestion:
    prompt: str
    reference_answer: str = ""


@dataclass(frozen=True)
class EssayTask:
    key: str  # the assessment question id, opaque to the scorer
    prompt: str
    answer: str
    reference_answer: str | None = None
    key_points: tuple[str, ...] = ()
    rubric: tuple[Criterion, ...] = DEFAULT_RUBRIC
    # Other essay questions of the bank (prompt and reference answer each), so that an answer
    # to one of them is recognised as such (EssayFlag.OTHER_QUESTION).
    other_questions: tuple[OtherQuestion, ...] = ()


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
    flags: tuple[EssayFlag, ...] = ()
    # The local scorer's overall score when another scorer (the LLM) made this one: the second
    # opinion that sends an essay to human review when the two disagree.
    local_score: float | None = None

    def as_fallback(self) -> EssayResult:
        """The same result, marked as standing in for an LLM that could not be used."""
        return replace(self, degraded=True)


def needs_review(result: EssayResult, disagreement_threshold: float) -> bool:
    """A human should look: the essay is flagged, or the two scorers disagree by more than
    the threshold."""
    if result.flags:
        return True
    return result.local_score is not None and (
        abs(result.score - result.local_score) > disagreement_threshold
    )


def capped_for_flags(score: float, flags: Sequence[EssayFlag]) -> float:
    """A flagged essay scores at most FLAGGED_CEILING, whoever scored it: its score is scaled
    into 0..FLAGGED_CEILING (so flagged essays keep their order), and no answer scores 0."""
    if EssayFlag.NO_ANSWER in flags:
        return 0.0
    return round(score * FLAGGED_CEILING, 4) if flags else score


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
