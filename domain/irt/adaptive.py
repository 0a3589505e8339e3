"""Choosing the next theory item of an adaptive form.

Rules, in order:
1. Only domains whose quota (the number of theory items the form gives the domain, from the
   track blueprint) is not yet filled, and only items not yet administered.
2. The domain furthest behind its share: the largest remaining / quota, so domains interleave
   in proportion and a student who stops early has been seen across the blueprint; ties by
   the order the quotas are given in (the blueprint's ranking).
3. Within that domain, item information P (1 - P) at the student's current ability estimate
   in the domain (EAP, ability.py), highest first.
4. Exposure control, randomesque (Kingsbury and Zara 1989): the pick is drawn uniformly from
   the `top_k` most informative, so the single best item is not shown to every student who
   starts at the same estimate (everybody starts at the prior mean). Ties in information are
   ordered by item id before the draw, and the draw uses the caller's seeded generator: the
   same seed and answers give the same form.

Returns None when every quota is filled (or the pool cannot serve any remaining quota; a form
whose pool cannot fill its quotas is refused when it is saved, see check_quotas).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from domain.irt.model import information

TOP_K = 3


@dataclass(frozen=True)
class PoolItem:
    id: str
    domain: str
    difficulty: float  # logits: fitted, or the prior from its authored difficulty


def next_item(
    pool: Sequence[PoolItem],
    administered: Collection[str],
    quotas: Mapping[str, int],
    estimates: Mapping[str, float],
    rng: random.Random,
    top_k: int = TOP_K,
) -> PoolItem | None:
    """`estimates` are the current ability (logits) per domain; a domain missing from it is at
    the prior mean 0."""
    if top_k < 1:
        raise ValueError("top_k must be at least 1")
    given = {d: 0 for d in quotas}
    for item in pool:
        if item.id in administered and item.domain in given:
            given[item.domain] += 1
    open_items: dict[str, list[PoolItem]] = {}
    for item in pool:
        if item.id not in administered and item.domain in quotas:
            open_items.setdefault(item.domain, []).append(item)
    behind = [
        (Fraction(quota - given[d], quota), -order, d)
        for order, (d, quota) in enumerate(quotas.items())
        if quota > given[d] and open_items.get(d)
    ]
    if not behind:
        return None
    domain = max(behind)[2]
    theta = estimates.get(domain, 0.0)
    ranked = sorted(open_items[domain], key=lambda it: (-information(theta, it.difficulty), it.id))
    return rng.choice(ranked[:top_k])


def check_quotas(pool: Sequence[PoolItem], quotas: Mapping[str, int]) -> list[str]:
    """The domains whose pool holds fewer items than their quota (empty when all can be filled)."""
    held: dict[str, int] = {}
    for item in pool:
        held[item.domain] = held.get(item.domain, 0) + 1
    return [d for d, quota in quotas.items() if held.get(d, 0) < quota]
