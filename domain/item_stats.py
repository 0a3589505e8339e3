"""Item statistics of the question bank: how hard each item is, whether it separates students
who know the subject from those who do not, and which options are picked.

Computed from sufficient statistics, updated when an assessment is scored, never by scanning
responses. For one bank item, over its n responses: x is the item's score (multiple choice 1/0,
an essay its 0..1 score) and r the "rest score", the mean score of the other scored items of the
same assessment (unanswered ones count 0, as in the profile). The mean rather than the sum,
because forms differ in length: a rest of 4 out of 5 and 4 out of 9 are not the same evidence.
Kept per item: n, sum x, sum x^2, sum r, sum r^2, sum x*r, and per option its pick count.

- facility = sum x / n: the proportion correct (multiple choice) or the mean essay score.
- discrimination = Pearson correlation of x and r (the point-biserial when x is 1/0):
      (n Sxr - Sx Sr) / sqrt((n Sxx - Sx^2) (n Srr - Sr^2))
  null when either variance is 0 (everyone right, or every rest score equal): nothing to
  correlate. Item against the *rest*, not the total, or the item would correlate with itself.
- pick rate of an option = its picks / n.
- flags, from MIN_RESPONSES responses on (fewer say little about an item): TOO_EASY when
  facility > 0.95, TOO_HARD when facility < 0.10, NEGATIVE_DISCRIMINATION when discrimination
  < 0 (students who do well elsewhere do worse here: a wrong key or a misleading stem), and
  DISTRACTOR_NEVER_CHOSEN when a wrong option of a multiple-choice item was never picked (it
  distracts nobody, so the item has one option fewer than it seems).

Only answered items are responses: an omitted item says the student ran out of time or
skipped, not how hard the item is. An assessment with fewer than two scored items has no rest
score and contributes nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

MIN_RESPONSES = 30
TOO_EASY_ABOVE = 0.95
TOO_HARD_BELOW = 0.10
PLACES = 4
THEORY, ESSAY = "theory", "essay"  # QuestionType values


class ItemFlag(StrEnum):
    TOO_EASY = "too_easy"
    TOO_HARD = "too_hard"
    NEGATIVE_DISCRIMINATION = "negative_discrimination"
    DISTRACTOR_NEVER_CHOSEN = "distractor_never_chosen"


@dataclass(frozen=True)
class ScoredItem:
    """One scored item of one assessment, as it was scored."""

    question_id: str | None  # the bank question; None when it was deleted since
    kind: str  # "theory" or "essay"
    score: float  # 0..1
    answered: bool
    option: str | None = None  # the picked option key (multiple choice)


@dataclass(frozen=True)
class Contribution:
    """What one assessment adds to one item's sums. Stored with the assessment's result, so a
    re-score subtracts exactly what the first scoring added."""

    question_id: str
    x: float
    rest: float
    option: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"q": self.question_id, "x": self.x, "rest": self.rest, "option": self.option}

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Contribution:
        option = raw.get("option")
        return cls(
            question_id=str(raw["q"]),
            x=_number(raw["x"]),
            rest=_number(raw["rest"]),
            option=str(option) if option is not None else None,
        )


def contributions(items: Sequence[ScoredItem]) -> tuple[Contribution, ...]:
    """One contribution per answered item that still has a bank question."""
    if len(items) < 2:
        return ()
    scores = [_clamp01(item.score) if item.answered else 0.0 for item in items]
    total = math.fsum(scores)
    found = []
    for item, score in zip(items, scores, strict=True):
        if not item.answered or item.question_id is None:
            continue
        rest = (total - score) / (len(items) - 1)
        option = item.option if item.kind == THEORY else None
        found.append(Contribution(item.question_id, score, _round_sum(rest), option))
    return tuple(found)


def encode(found: Iterable[Contribution]) -> list[dict[str, object]]:
    return [c.as_dict() for c in found]


def decode(raw: object) -> tuple[Contribution, ...]:
    """The stored list; nothing stored (results older than item statistics) is no contribution."""
    if not isinstance(raw, list):
        return ()
    return tuple(Contribution.from_dict(c) for c in raw if isinstance(c, Mapping))


@dataclass
class Sums:
    """An item's sufficient statistics; also a difference of two (a re-score's change)."""

    n: int = 0
    sum_x: float = 0.0
    sum_x2: float = 0.0
    sum_rest: float = 0.0
    sum_rest2: float = 0.0
    sum_x_rest: float = 0.0
    options: dict[str, int] = field(default_factory=dict)

    def add(self, c: Contribution, sign: int = 1) -> None:
        self.n += sign
        self.sum_x += sign * c.x
        self.sum_x2 += sign * c.x * c.x
        self.sum_rest += sign * c.rest
        self.sum_rest2 += sign * c.rest * c.rest
        self.sum_x_rest += sign * c.x * c.rest
        if c.option is not None:
            self.options[c.option] = self.options.get(c.option, 0) + sign

    def merge(self, change: Sums, keep_zeros: bool = False) -> None:
        """Adds `change`; `keep_zeros` when summing changes, whose counts may be negative."""
        self.n += change.n
        self.sum_x += change.sum_x
        self.sum_x2 += change.sum_x2
        self.sum_rest += change.sum_rest
        self.sum_rest2 += change.sum_rest2
        self.sum_x_rest += change.sum_x_rest
        for key, count in change.options.items():
            self.options[key] = self.options.get(key, 0) + count
        if not keep_zeros:
            # A key nobody picks any more is dropped rather than kept at 0.
            self.options = {key: count for key, count in self.options.items() if count > 0}


def changes(old: Sequence[Contribution], new: Sequence[Contribution]) -> dict[str, Sums]:
    """Per item, what replacing an assessment's old contributions by its new ones changes.
    Items whose contribution did not change are left out."""
    deltas: dict[str, Sums] = {}
    # Multisets: what is in both cancels out, whatever the order.
    before, after = Counter(old), Counter(new)
    for c, count in (before - after).items():
        for _ in range(count):
            deltas.setdefault(c.question_id, Sums()).add(c, -1)
    for c, count in (after - before).items():
        for _ in range(count):
            deltas.setdefault(c.question_id, Sums()).add(c, +1)
    return deltas


@dataclass(frozen=True)
class OptionRate:
    key: str
    count: int
    rate: float
    correct: bool


@dataclass(frozen=True)
class ItemStatistics:
    responses: int
    facility: float | None
    discrimination: float | None
    options: tuple[OptionRate, ...]
    flags: tuple[ItemFlag, ...]


def statistics(
    sums: Sums, kind: str, option_keys: Sequence[str] = (), correct: str | None = None
) -> ItemStatistics:
    """The figures and flags of one item. `option_keys` are the item's options (multiple
    choice) in their order; a key picked under an earlier version of the item is listed after
    them, so no pick goes missing."""
    n = sums.n
    facility = _round(sums.sum_x / n) if n > 0 else None
    discrimination = _correlation(sums)
    rates: list[OptionRate] = []
    if kind == THEORY:
        keys = list(option_keys) + sorted(k for k in sums.options if k not in option_keys)
        rates = [
            OptionRate(key, sums.options.get(key, 0),
                       _round(sums.options.get(key, 0) / n) if n else 0.0, key == correct)
            for key in keys
        ]  # fmt: skip
    flags: list[ItemFlag] = []
    if n >= MIN_RESPONSES and facility is not None:
        if facility > TOO_EASY_ABOVE:
            flags.append(ItemFlag.TOO_EASY)
        if facility < TOO_HARD_BELOW:
            flags.append(ItemFlag.TOO_HARD)
        if discrimination is not None and discrimination < 0:
            flags.append(ItemFlag.NEGATIVE_DISCRIMINATION)
        if kind == THEORY and any(
            sums.options.get(key, 0) == 0 for key in option_keys if key != correct
        ):
            flags.append(ItemFlag.DISTRACTOR_NEVER_CHOSEN)
    return ItemStatistics(n, facility, discrimination, tuple(rates), tuple(flags))


def _correlation(s: Sums) -> float | None:
    if s.n < 2:
        return None
    covariance = s.n * s.sum_x_rest - s.sum_x * s.sum_rest
    var_x = s.n * s.sum_x2 - s.sum_x * s.sum_x
    var_rest = s.n * s.sum_rest2 - s.sum_rest * s.sum_rest
    # Sums updated by adding and subtracting carry float noise: a variance within it is 0.
    scale = max(1.0, float(s.n) * s.n)
    if var_x <= 1e-9 * scale or var_rest <= 1e-9 * scale:
        return None
    r = covariance / math.sqrt(var_x * var_rest)
    return _round(max(-1.0, min(1.0, r)))


def _clamp01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


def _round(value: float) -> float:
    return round(float(value), PLACES)


def _round_sum(value: float) -> float:
    # Rest scores are stored rounded, so that the stored contribution subtracted later is
    # exactly the one that was added (a JSON round trip of a float is exact, but a rest score
    # recomputed from re-read scores might differ in the last bit).
    return round(float(value), 9)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("item contribution field must be a number")
    return float(value)
