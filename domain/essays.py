"""Essay scoring: the task a scorer gets, the result it must give back, and the rules every
scorer's result goes through (clamped criteria, the weighted score recomputed here, never taken
from the scorer).

Also the lexical scorer: deterministic, instant, no model. It compares the answer's content words
with the reference answer and each key point (words that also appear in the question are left
out, since repeating the question is not knowing the answer)."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.questions import DEFAULT_RUBRIC, Criterion

LEXICAL_VERSION = "lexical-1"


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
    prompt_version: str = LEXICAL_VERSION
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


# ---------------------------------------------------------------- lexical scorer

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.-]*")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "we",
        "you",
        "your",
        "i",
        "our",
        "not",
        "no",
        "so",
        "such",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "into",
        "about",
        "over",
        "under",
        "than",
        "also",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "each",
        "more",
        "most",
        "other",
        "some",
        "very",
        "just",
        "only",
        "own",
        "same",
        "too",
        "both",
        "few",
        "many",
        "much",
        "one",
        "two",
    ]
)


def content_words(text: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    words = [_stem(w) for w in _WORD.findall(text.lower())]
    return [w for w in words if w not in _STOP and w not in exclude and len(w) > 1]


def _stem(word: str) -> str:
    """A light suffix stripper: enough to match 'caches'/'caching'/'cached' to 'cach'."""
    word = word.strip(".-")
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _coverage(needed: Sequence[str], have: set[str]) -> float:
    unique = set(needed)
    return len(unique & have) / len(unique) if unique else 0.0


def lexical_score(task: EssayTask) -> EssayResult:
    question_words = frozenset(content_words(task.prompt))
    answer_words = content_words(task.answer, question_words)
    have = set(answer_words)
    reference = content_words(task.reference_answer or "", question_words)
    points = [content_words(p, question_words) for p in task.key_points]
    covered = [i for i, p in enumerate(points) if p and _coverage(p, have) >= 0.5]
    point_share = len(covered) / len(points) if points else _coverage(reference, have)
    reference_share = _coverage(reference, have) if reference else point_share

    accuracy = clamp01(0.6 * point_share + 0.4 * min(1.0, reference_share * 1.5))
    length = len(answer_words)
    # Enough substance to explain an idea: about 15-150 content words.
    length_signal = clamp01(length / 15) if length < 15 else clamp01(1.2 - length / 750)
    sentences = [s for s in re.split(r"[.!?\n]+", task.answer) if len(s.split()) >= 3]
    structure = clamp01(len(sentences) / 3)
    clarity = clamp01(0.5 * length_signal + 0.3 * structure + 0.2 * accuracy)
    coherence = clamp01(0.5 * accuracy + 0.3 * structure + 0.2 * length_signal)
    values = {"clarity": clarity, "accuracy": accuracy, "coherence": coherence}
    criteria = tuple(
        CriterionScore(c.name, round(values.get(c.name, accuracy), 4), _why(c.name))
        for c in task.rubric
    )
    missed = [p for i, p in enumerate(task.key_points) if i not in covered]
    return EssayResult(
        key=task.key,
        score=weighted_score(criteria, task.rubric),
        criteria=criteria,
        feedback=_feedback(missed, length),
        scored_by="local",
        prompt_version=LEXICAL_VERSION,
    )


def _why(name: str) -> str:
    return {
        "accuracy": "Overlap with the reference answer and its key points.",
        "clarity": "Length and sentence structure of the answer.",
        "coherence": "Structure and how closely the answer stays on the topic.",
    }.get(name, "Overlap with the reference answer.")


def _feedback(missed: Sequence[str], length: int) -> str:
    if length == 0:
        return "The answer was empty or repeated the question; explain the idea in your own words."
    if not missed:
        return (
            "Your answer covers the key points; make sure each step of the reasoning is explicit."
        )
    listed = "; ".join(missed[:3])
    more = f" (and {len(missed) - 3} more)" if len(missed) > 3 else ""
    return f"Your answer did not clearly cover: {listed}{more}."
