"""A student's ability in one domain: the expected a posteriori (EAP) estimate.

Prior theta ~ N(mean, sd^2) (by default N(0, 1): the calibration scale puts the students'
mean ability at 0); the posterior is that prior times the Rasch likelihood of the answers,
integrated on the fixed grid (quadrature.py). The estimate is the posterior mean and its
standard error the posterior standard deviation.

Why EAP rather than maximum likelihood: with one to ten items per domain many students answer
all correctly or all wrong, where the likelihood has no maximum; EAP is finite for every answer
pattern, and its SE stays honest (near the prior's sd) when little is known. Its price is a
pull toward the prior mean, largest for short forms.

The posterior is kept as log weights on the grid and updated one answer at a time, so an
adaptive form re-estimates after each answer at the cost of one pass over the grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from domain.irt.quadrature import standard_normal_grid

GRID_POINTS = 61


@dataclass(frozen=True)
class AbilityEstimate:
    theta: float  # logits
    standard_error: float  # posterior sd, logits
    items: int  # answers it rests on


@dataclass(frozen=True)
class Posterior:
    thetas: tuple[float, ...]
    log_weights: tuple[float, ...]
    items: int = 0

    @classmethod
    def prior(cls, mean: float = 0.0, sd: float = 1.0, points: int = GRID_POINTS) -> Posterior:
        if sd <= 0:
            raise ValueError("the prior's sd must be positive")
        grid = standard_normal_grid(points)
        return cls(
            tuple(mean + sd * z for z in grid.nodes), tuple(math.log(w) for w in grid.weights)
        )

    def update(self, difficulty: float, correct: bool) -> Posterior:
        weights = tuple(
            lw + _log_probability(t, difficulty, correct)
            for t, lw in zip(self.thetas, self.log_weights, strict=True)
        )
        return Posterior(self.thetas, weights, self.items + 1)

    def estimate(self) -> AbilityEstimate:
        top = max(self.log_weights)
        weights = [math.exp(lw - top) for lw in self.log_weights]
        total = math.fsum(weights)
        mean = math.fsum(w * t for w, t in zip(weights, self.thetas, strict=True)) / total
        variance = (
            math.fsum(w * (t - mean) ** 2 for w, t in zip(weights, self.thetas, strict=True))
            / total
        )
        return AbilityEstimate(mean, math.sqrt(variance), self.items)


def estimate_ability(
    answers: Iterable[tuple[float, bool]], mean: float = 0.0, sd: float = 1.0
) -> AbilityEstimate:
    """EAP from (difficulty, correct) pairs; no answers gives the prior itself."""
    posterior = Posterior.prior(mean, sd)
    for difficulty, correct in answers:
        posterior = posterior.update(difficulty, correct)
    return posterior.estimate()


def _log_probability(theta: float, difficulty: float, correct: bool) -> float:
    # log P = -log(1 + exp(-(t - b))), log(1 - P) = -log(1 + exp(t - b)); softplus is stable.
    x = theta - difficulty
    return -_softplus(-x) if correct else -_softplus(x)


def _softplus(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
