"""Which bank questions one assessment gets.

Rules, in order of importance:
1. Only active questions of the track: tagged with the track itself or with "general".
2. Theory and essay items are spread over as many domains as possible: a round-robin over the
   domains, and essays prefer domains the theory items did not cover, so the default 3 + 3
   touch six domains instead of three. (The profile says honestly when a domain rests on one
   item.)
3. Questions this student saw in recent assessments come last, so retaking the assessment
   mostly shows new questions.
4. On a role track, items written for that track come before general ones of the same domain.
5. Ties are broken by a seeded random generator: the same seed gives the same assessment.

Profile (interest) items are spread over interest areas the same way.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from domain.composition import Composition
from domain.errors import DomainError, ErrorCode, Problem
from domain.questions import QuestionType

GENERAL_TRACK = "general"


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
    recently_seen: set[uuid.UUID],
    rng: random.Random,
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

    theory = _spread(by_type[QuestionType.THEORETICAL], wanted[QuestionType.THEORETICAL],
                     track, recently_seen, rng, _domain)  # fmt: skip
    covered = {c.domain for c in theory}
    essays = _spread(by_type[QuestionType.ESSAY], wanted[QuestionType.ESSAY], track,
                     recently_seen, rng, _domain, avoid=covered)  # fmt: skip
    profile = _spread(by_type[QuestionType.PROFILE], wanted[QuestionType.PROFILE], track,
                      recently_seen, rng, _area)  # fmt: skip
    return theory + essays + profile


def _domain(candidate: Candidate) -> str:
    return candidate.domain


def _area(candidate: Candidate) -> str:
    return candidate.interest_area or candidate.domain


def _spread(
    candidates: Sequence[Candidate],
    count: int,
    track: str,
    recently_seen: set[uuid.UUID],
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
    queues = {name: _ordered(items, track, recently_seen, rng) for name, items in groups.items()}
    names = sorted(queues)
    rng.shuffle(names)
    avoid = avoid or set()
    picked: list[Candidate] = []
    while len(picked) < count:
        # Each round takes at most one item per group; groups whose next item is unseen, then
        # groups not covered by the other type, come first.
        live = [n for n in names if queues[n]]
        live.sort(key=lambda n: (queues[n][0].id in recently_seen, n in avoid))
        for name in live:
            if len(picked) == count:
                break
            picked.append(queues[name].pop(0))
    return picked


def _ordered(
    items: list[Candidate], track: str, recently_seen: set[uuid.UUID], rng: random.Random
) -> list[Candidate]:
    shuffled = list(items)
    rng.shuffle(shuffled)
    own_track = track != GENERAL_TRACK
    return sorted(
        shuffled,
        key=lambda c: (c.id in recently_seen, not (own_track and track in c.tracks)),
    )
