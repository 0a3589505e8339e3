"""The Rasch model for one domain, the prior for items without enough data, the 0..1 score.

P(correct | theta, b) = 1 / (1 + exp(-(theta - b))): theta is the student's ability and b the
item's difficulty, both in logits on one scale per domain. The scale's origin is the mean
ability of the students who answered the domain (calibration fixes it there), so b = 0 is an
item a typical student answers correctly half of the time.

Item information I(theta) = P (1 - P): largest (0.25) where theta = b. An item tells the most
about students whose ability is near its difficulty, which is why adaptive forms pick by it.

Prior for items below MIN_RESPONSES responses: the question bank's authored `difficulty` is an
integer 1..5 (domain/questions.py; the shipped bank uses 1..3), 3 the middle. It maps linearly:
    b = LOGITS_PER_STEP * (difficulty - 3)   ->  1: -1.4, 2: -0.7, 3: 0, 4: +0.7, 5: +1.4
so a typical student (theta = 0) answers a difficulty-1 item correctly with P = 0.80, a 3 with
0.50 and a 5 with 0.20: the spread authors mean by "easy" to "hard" for juniors, and a range
within which a Rasch bank of multiple-choice items commonly falls. An item without an authored
difficulty is taken as a 3. The prior's standard error, PRIOR_SE = 1 logit, says that the
author's guess can be off by about one step and a half; it is what the item reports until
calibration replaces it.

The 0..1 score of an ability: the expected proportion correct on a reference set of items,
    score(theta) = mean over the reference of P(correct | theta, b),
which keeps the meaning the profile's scores have today (a share of items answered correctly)
while removing the luck of which items a student drew. The reference is the domain's active
multiple-choice items at their current parameters; with no reference it is logistic(theta)
(one item of difficulty 0). Band cut points in logits are the abilities whose score equals the
profile's thresholds (theta_for_score).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MIN_RESPONSES = 30
LOGITS_PER_STEP = 0.7
DIFFICULTY_MIDPOINT = 3
PRIOR_SE = 1.0


class ParameterSource(StrEnum):
    PRIOR = "prior"  # from the authored difficulty
    FITTED = "fitted"  # from calibration on stored responses


@dataclass(frozen=True)
class ItemParameter:
    item: str
    domain: str
    difficulty: float  # b, logits
    standard_error: float
    source: ParameterSource
    responses: int = 0


def probability(theta: float, difficulty: float) -> float:
    """P(correct), computed without overflow for any logit."""
    x = theta - difficulty
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def information(theta: float, difficulty: float) -> float:
    p = probability(theta, difficulty)
    return p * (1.0 - p)


def prior_difficulty(authored: int | None) -> float:
    level = DIFFICULTY_MIDPOINT if authored is None else authored
    return LOGITS_PER_STEP * (level - DIFFICULTY_MIDPOINT)


def prior_parameter(item: str, domain: str, authored: int | None) -> ItemParameter:
    return ItemParameter(item, domain, prior_difficulty(authored), PRIOR_SE, ParameterSource.PRIOR)


def expected_score(theta: float, reference: Sequence[float] = ()) -> float:
    """The 0..1 score of an ability: expected proportion correct on the reference difficulties."""
    if not reference:
        return probability(theta, 0.0)
    return math.fsum(probability(theta, b) for b in reference) / len(reference)


def theta_for_score(score: float, reference: Sequence[float] = ()) -> float:
    """The inverse of expected_score (it is strictly increasing), by bisection on [-12, 12]."""
    if not 0.0 < score < 1.0:
        raise ValueError("score must lie strictly between 0 and 1")
    low, high = -12.0, 12.0
    for _ in range(100):
        middle = (low + high) / 2
        if expected_score(middle, reference) < score:
            low = middle
        else:
            high = middle
    return (low + high) / 2
