"""Track blueprints: what a junior in a role must know, as domains with weights.

A blueprint is the advisor's answer to "which knowledge does this role rest on, and how much".
Selection (domain/selection.py) turns it into how many scored items each domain gets.

Definitions the rest of the service relies on:
- The *ranking* of a blueprint is its domains by weight, highest first; equal weights keep the
  order the blueprint lists them in (so an author breaks ties by writing order).
- The *core* of a blueprint is the first CORE_SIZE (3) domains of that ranking.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from domain.errors import Problems
from domain.text import clean_text

CORE_SIZE = 3
# At least this share of the scored items (theory + essay) comes from the core domains.
CORE_SHARE = Fraction(3, 5)
# Each core domain gets at least this many scored items when the form has room for it.
CORE_MIN_ITEMS = 2

NAME_MAX = 40
TITLE_MAX = 100
DESCRIPTION_MAX = 1000
DOMAINS_MAX = 20
WEIGHT_MIN, WEIGHT_MAX = 1, 100


@dataclass(frozen=True)
class DomainWeight:
    domain: str
    weight: int


@dataclass(frozen=True)
class Blueprint:
    name: str
    title: str
    description: str
    domains: tuple[DomainWeight, ...]

    def ranked(self) -> list[DomainWeight]:
        # sorted() is stable: equal weights keep the blueprint's own order.
        return sorted(self.domains, key=lambda d: -d.weight)

    def core(self) -> tuple[str, ...]:
        return tuple(d.domain for d in self.ranked()[:CORE_SIZE])

    def weight_of(self, domain: str) -> int:
        return next((d.weight for d in self.domains if d.domain == domain), 0)


@dataclass(frozen=True)
class BlueprintDraft:
    """A blueprint as a client or seed file gives it, before validation."""

    name: str
    title: str
    description: str
    domains: Sequence[tuple[str, int]]


def _is_slug(value: str) -> bool:
    return bool(value) and value.replace("-", "").isalnum() and value.isascii()


def validate_blueprint(
    draft: BlueprintDraft, domains_with_items: Iterable[str] | None, *path: str
) -> Blueprint:
    """The blueprint, or a DomainError listing every problem with its field path.

    `domains_with_items` are the domains holding at least one active scored item: a blueprint
    may not ask for a domain the bank cannot serve. None skips that check (the seed loader's
    first pass, before it knows what the bank will hold)."""
    problems = Problems()
    available = None if domains_with_items is None else set(domains_with_items)
    name = draft.name.strip().lower()
    if not 1 <= len(name) <= NAME_MAX or not _is_slug(name):
        problems.invalid(f"A track name is 1..{NAME_MAX} letters, digits or dashes.", *path, "name")
    # Free text goes through the same hygiene as every other (control characters out: a NUL
    # cannot even be stored in PostgreSQL).
    title = clean_text(draft.title, keep_newlines=False)
    if not 1 <= len(title) <= TITLE_MAX:
        problems.invalid(f"A title is 1..{TITLE_MAX} characters.", *path, "title")
    description = clean_text(draft.description)
    if len(description) > DESCRIPTION_MAX:
        problems.invalid(
            f"A description is at most {DESCRIPTION_MAX} characters.", *path, "description"
        )
    if not 1 <= len(draft.domains) <= DOMAINS_MAX:
        problems.invalid(f"A blueprint lists 1..{DOMAINS_MAX} domains.", *path, "domains")
    seen: set[str] = set()
    weights: list[DomainWeight] = []
    for index, (raw_domain, weight) in enumerate(draft.domains):
        at = (*path, "domains", str(index))
        domain = raw_domain.strip().lower()
        if domain in seen:
            problems.invalid(f"Domain '{domain}' is listed twice.", *at, "domain")
        elif not domain:
            problems.invalid("A domain name is required.", *at, "domain")
        elif available is not None and domain not in available:
            problems.invalid(
                f"Domain '{domain}' has no active scored questions. "
                f"Domains with questions: {', '.join(sorted(available)) or 'none'}.",
                *at,
                "domain",
            )
        seen.add(domain)
        if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
            problems.invalid(
                f"A weight is a positive whole number, {WEIGHT_MIN}..{WEIGHT_MAX}.", *at, "weight"
            )
        weights.append(DomainWeight(domain, weight))
    problems.raise_if_any()
    return Blueprint(name, title, description, tuple(weights))


def allocate(blueprint: Blueprint, scored: int, capacity: dict[str, int]) -> dict[str, int]:
    """How many scored items each blueprint domain gets, out of `scored`.

    1. Each core domain gets CORE_MIN_ITEMS first (when there is room for all of them; a
       smaller form shares its items among the core domains in ranking order).
    2. The rest goes by highest averages (D'Hondt) over every blueprint domain, ties to the
       higher-ranked domain: a domain never gets more items than one it is weighted below.
    3. If the core then holds less than CORE_SHARE of the items, items move from the lowest
       priority non-core domains to the core.
    `capacity` (items the bank holds per domain) caps every domain; a shortfall is left to the
    caller, which sees that the counts sum to less than `scored`.
    """
    ranked = [d for d in blueprint.ranked() if capacity.get(d.domain, 0) > 0]
    counts = {d.domain: 0 for d in ranked}
    core = [d for d in ranked if d.domain in blueprint.core()]

    def room(domain: str) -> bool:
        return counts[domain] < capacity.get(domain, 0)

    left = scored
    floor = CORE_MIN_ITEMS if scored >= CORE_MIN_ITEMS * len(core) else 0
    for _ in range(floor):
        for d in core:
            if left and room(d.domain):
                counts[d.domain] += 1
                left -= 1
    pool = ranked if floor else core
    while left:
        open_ = [d for d in pool if room(d.domain)]
        if not open_:
            break
        # max() keeps the first of equal priorities: the higher-ranked domain.
        best = max(open_, key=lambda d: d.weight / (counts[d.domain] + 1))
        counts[best.domain] += 1
        left -= 1

    core_names = {d.domain for d in core}
    needed = math.ceil(CORE_SHARE * scored)  # a Fraction: exact, no float drift
    while sum(counts[d] for d in core_names) < needed:
        donors = [d for d in ranked if d.domain not in core_names and counts[d.domain] > 0]
        takers = [d for d in core if room(d.domain)]
        if not donors or not takers:
            break
        donor = min(donors, key=lambda d: d.weight / counts[d.domain])
        taker = max(takers, key=lambda d: d.weight / (counts[d.domain] + 1))
        counts[donor.domain] -= 1
        counts[taker.domain] += 1
    return {domain: n for domain, n in counts.items() if n}
