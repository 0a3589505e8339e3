"""Summary statistics for operational figures (analytics, benchmarks)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks, the same
    definition as numpy's default; None for no values, because "no data" is not zero."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide."""
    return part / whole if whole else None


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r of paired values; None with fewer than two pairs or when either side does
    not vary (r is undefined then, not 0)."""
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    mean_x, mean_y = math.fsum(xs) / n, math.fsum(ys) / n
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    syy = math.fsum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


@dataclass(frozen=True)
class Agreement:
    """How a machine scorer agrees with the humans who overrode it."""

    scorer: str
    count: int
    mean_absolute_difference: float | None
    pearson_r: float | None


def agreement(scorer: str, pairs: Sequence[tuple[float, float]]) -> Agreement:
    """`pairs` are (human, machine) scores of the same essays."""
    humans = [h for h, _ in pairs]
    machines = [m for _, m in pairs]
    mad = math.fsum(abs(h - m) for h, m in pairs) / len(pairs) if pairs else None
    return Agreement(scorer, len(pairs), mad, pearson(humans, machines))
