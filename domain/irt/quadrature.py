"""The grid the fit and the ability estimate integrate over.

Equally spaced nodes on [-6, 6] standard deviations with weights proportional to the standard
normal density, as BILOG and R's mirt do by default, rather than Gauss-Hermite: the integrands
(a normal density times a Rasch likelihood) are smooth and vanish in the tails, where the
trapezoid rule converges faster than any power of the step; the nodes need no eigenvalue
solver, and the unit test checks the result against a brute-force integral.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

SPAN = 6.0


@dataclass(frozen=True)
class Grid:
    nodes: tuple[float, ...]  # standard normal deviates
    weights: tuple[float, ...]  # normalised: they sum to 1


@cache
def standard_normal_grid(points: int = 61) -> Grid:
    if points < 3:
        raise ValueError("a grid needs at least 3 points")
    step = 2 * SPAN / (points - 1)
    nodes = tuple(-SPAN + i * step for i in range(points))
    raw = [math.exp(-z * z / 2) for z in nodes]
    total = math.fsum(raw)
    return Grid(nodes, tuple(w / total for w in raw))
