"""Which bank questions one assessment gets.

Rules, in order of importance:
1. Only active questions of the track: tagged with the track itself or with "general".
2. On a track with a blueprint (domain/tracks.py), the scored items (theory + essay) follow it:
   every core domain (the blueprint's top 3 by weight) gets at least 2 of them when the form
   has room (the default 3 + 3 gives exactly 2 to each), at least 60% of them come from the
   core, and the rest are shared by weight (domain/tracks.allocate), so a domain rests on one
   item only when the blueprint weights it below the core. Domains outside the blueprint get
   none. Within a domain, theory and essays are mixed in the form's proportion, so each core
   domain of the default form is seen through one theory item and one essay.
   A track that questions are tagged with but that has no blueprint yet (an admin has not
   called upsertTrack) keeps the broad spread: a round-robin over the domains, essays
   preferring domains the theory items did not cover.
3. No question is repeated across a student's attempts until the track's pool for that domain
   and kind (theory, essay, profile area) is exhausted for the student; then the least
   recently seen come first. `seen` is the student's history: when each question was last
   shown to them (db/repositories/assessments.seen_history), over all their attempts. On a
   blueprint track, where a domain's share of essays is a tie, the domain that still has
   unseen essays takes it.
4. On a role track, items written for that track come before general ones of the same domain.
5. Ties are broken by a seeded random generator: the same seed gives the same assessment.

Profile (interest) items are spread over interest areas, round-robin.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.composition import Composition
from domain.errors import DomainError, ErrorCode, Problem
from domain.questions import QuestionType
from domain.tracks import Blueprint, allocate

GENERAL_TRACK = "general"
# Sorts before every real time: an unseen question is "seen longest ago" of all.
NEVER = datetime.min.replace(tzinfo=UTC)

# When each question was last shown to the student (ids the student never saw are absent).
SeenHistory = Mapping[uuid.UUID, datetime]


@dataclass(frozen=True)
class Candidate:
    id: uuid.UUID
    type: QuestionType
    domain: str
    tracks: tuple[str, ...]
    interest_area: str | None = None
    difficulty: int | None = None


def known_tracks(pool: Iterable[Candidate]) -> set[str]:
    return {track for candidate in pool for track in candidate.tracks} | {GENERAL_TRACK}


def eligible(pool: Iterable[Candidate], track: str) -> list[Candidate]:
    return [c for c in pool if track in c.tracks or GENERAL_TRACK in c.tracks]


def select_questions(
    pool: Sequence[Candidate],
    composition: Composition,
    track: str,
    seen: SeenHistory,
    rng: random.Random,
    blueprint: Blueprint | None = None,
) -> list[Candidate]:
    """Questions in assessment order: theory, then essays, then profile items."""
    candidates = eligible(pool, track)
    by_type = {t: [c for c in candidates if c.type is t] for t in QuestionType}
    wanted = {
        QuestionType.THEORETICAL: composition.theoretical,
        QuestionType.ESSAY: composition.essay,
        QuestionType.PROFILE: composition.profile,
    }
    shortages = [
        Problem(
            ErrorCode.VALIDATION_ERROR,
            f"Only {len(by_type[t])} active {t.name} question(s) exist for track '{track}'; "
            f"the composition asks for {wanted[t]}.",
            ("input", "composition", t.name.lower()),
            {"available": len(by_type[t])},
        )
        for t in QuestionType
        if len(by_type[t]) < wanted[t]
    ]
    if shortages:
        raise DomainError(shortages)

    if blueprint is not None:
        theory, essays = _follow_blueprint(
            blueprint,
            by_type[QuestionType.THEORETICAL],
            by_type[QuestionType.ESSAY],
            composition,
            track,
            seen,
            rng,
        )
    else:
        theory = _spread(by_type[QuestionType.THEORETICAL], wanted[QuestionType.THEORETICAL],
                         track, seen, rng, _domain)  # fmt: skip
        covered = {c.domain for c in theory}
        essays = _spread(by_type[QuestionType.ESSAY], wanted[QuestionType.ESSAY], track,
                         seen, rng, _domain, avoid=covered)  # fmt: skip
    profile = _spread(by_type[QuestionType.PROFILE], wanted[QuestionType.PROFILE], track,
                      seen, rng, _area)  # fmt: skip
    return theory + essays + profile


def _domain(candidate: Candidate) -> str:
    return candidate.domain


def _area(candidate: Candidate) -> str:
    return candidate.interest_area or candidate.domain


def _spread(
    candidates: Sequence[Candidate],
    count: int,
    track: str,
    seen: SeenHistory,
    rng: random.Random,
    group_of: Callable[[Candidate], str],
    avoid: set[str] | None = None,
) -> list[Candidate]:
    if count == 0:
        return []
    groups: dict[str, list[Candidate]] = {}
    # Sorting by id first makes the outcome independent of the order the pool came in.
    for candidate in sorted(candidates, key=lambda c: c.id):
        groups.setdefault(group_of(candidate), []).append(candidate)
    queues = {name: _ordered(items, track, seen, rng) for name, items in groups.items()}
    names = sorted(queues)
    rng.shuffle(names)
    avoid = avoid or set()
    picked: list[Candidate] = []
    while len(picked) < count:
        # Each round takes at most one item per group; groups whose next item is unseen, then
        # groups not covered by the other type, then the least recently seen, come first.
        live = [n for n in names if queues[n]]
        live.sort(key=lambda n: (queues[n][0].id in seen, n in avoid,
                                 seen.get(queues[n][0].id, NEVER)))  # fmt: skip
        for name in live:
            if len(picked) == count:
                break
            picked.append(queues[name].pop(0))
    return picked


def _ordered(
    items: list[Candidate], track: str, seen: SeenHistory, rng: random.Random
) -> list[Candidate]:
    """Unseen first (the track's own before general ones), then least recently seen first;
    the seeded shuffle breaks the remaining ties (sorted() is stable)."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    own_track = track != GENERAL_TRACK
    return sorted(
        shuffled,
        key=lambda c: (c.id in seen, seen.get(c.id, NEVER), not (own_track and track in c.tracks)),
    )


def _follow_blueprint(
    blueprint: Blueprint,
    theory_pool: Sequence[Candidate],
    essay_pool: Sequence[Candidate],
    composition: Composition,
    track: str,
    seen: SeenHistory,
    rng: random.Random,
) -> tuple[list[Candidate], list[Candidate]]:
    theory_by = _by_domain(theory_pool)
    essay_by = _by_domain(essay_pool)
    wanted_theory, wanted_essay = composition.theoretical, composition.essay
    scored = wanted_theory + wanted_essay
    capacity = {
        d.domain: len(theory_by.get(d.domain, ())) + len(essay_by.get(d.domain, ()))
        for d in blueprint.domains
    }
    quota = allocate(blueprint, scored, capacity)
    # How many essays each domain takes: within [lo, hi] so both types stay available, summing
    # to the essays wanted; filled toward each domain's proportional share.
    lo = {d: max(0, n - len(theory_by.get(d, ()))) for d, n in quota.items()}
    hi = {d: min(len(essay_by.get(d, ())), n) for d, n in quota.items()}
    if sum(quota.values()) < scored or not sum(lo.values()) <= wanted_essay <= sum(hi.values()):
        raise DomainError.one(
            ErrorCode.VALIDATION_ERROR,
            f"The bank cannot serve track '{track}' as its blueprint asks "
            f"({', '.join(f'{d.domain} {d.weight}' for d in blueprint.ranked())}) with "
            f"{wanted_theory} theory and {wanted_essay} essay items; "
            "add questions in its domains or change the blueprint.",
            ("input", "composition"),
        )
    order = sorted(quota)
    rng.shuffle(order)
    unseen_essays = {d: sum(c.id not in seen for c in items) for d, items in essay_by.items()}
    essays_of = dict(lo)
    for _ in range(wanted_essay - sum(lo.values())):
        open_ = [d for d in order if essays_of[d] < hi[d]]
        # max() keeps the first of equal gaps: the seeded order decides ties.
        best = max(
            open_,
            key=lambda d: (
                quota[d] * wanted_essay / scored - essays_of[d],
                unseen_essays.get(d, 0) > essays_of[d],
            ),
        )
        essays_of[best] += 1
    theory_lists = {
        d: _ordered(theory_by.get(d, []), track, seen, rng)[: quota[d] - essays_of[d]]
        for d in order
    }
    essay_lists = {
        d: _ordered(essay_by.get(d, []), track, seen, rng)[: essays_of[d]] for d in order
    }
    return _interleave(theory_lists, order), _interleave(essay_lists, order)


def _by_domain(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    groups: dict[str, list[Candidate]] = {}
    # Sorting by id first makes the outcome independent of the order the pool came in.
    for candidate in sorted(candidates, key=lambda c: c.id):
        groups.setdefault(candidate.domain, []).append(candidate)
    return groups


def _interleave(lists: dict[str, list[Candidate]], order: list[str]) -> list[Candidate]:
    """Round-robin over the domains, so consecutive questions change subject."""
    queues = {d: list(lists[d]) for d in order}
    out: list[Candidate] = []
    while any(queues.values()):
        for d in order:
            if queues[d]:
                out.append(queues[d].pop(0))
    return out
