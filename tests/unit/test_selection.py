from __future__ import annotations

import random
import uuid

import pytest

from domain.composition import Composition
from domain.errors import DomainError
from domain.questions import QuestionType
from domain.selection import Candidate, select_questions
from tests.unit.seen import seen_at

T, E, P = QuestionType.THEORETICAL, QuestionType.ESSAY, QuestionType.PROFILE
DOMAINS = ["programming", "algorithms", "databases", "networking", "security", "web"]


def _pool(per_domain: int = 4, tracks: tuple[str, ...] = ("general",)) -> list[Candidate]:
    pool = []
    for domain in DOMAINS:
        for _ in range(per_domain):
            pool.append(Candidate(uuid.uuid4(), T, domain, tracks))
            pool.append(Candidate(uuid.uuid4(), E, domain, tracks))
    for area in ["data", "web", "ml", "security", "cloud", "software"]:
        pool.append(Candidate(uuid.uuid4(), P, "interests", ("general",), interest_area=area))
    return pool


def test_order_and_counts_follow_the_composition() -> None:
    chosen = select_questions(_pool(), Composition(3, 3, 4), "general", {}, random.Random(1))
    assert [c.type for c in chosen] == [T] * 3 + [E] * 3 + [P] * 4


def test_theory_and_essays_spread_over_distinct_domains() -> None:
    chosen = select_questions(_pool(), Composition(3, 3, 4), "general", {}, random.Random(2))
    theory = [c.domain for c in chosen if c.type is T]
    essays = [c.domain for c in chosen if c.type is E]
    assert len(set(theory)) == 3
    assert len(set(essays)) == 3
    # Essays prefer domains the theory items did not cover: six domains in all.
    assert len(set(theory) | set(essays)) == 6
    profile = [c.interest_area for c in chosen if c.type is P]
    assert len(set(profile)) == 4


def test_more_items_than_domains_wraps_round_robin() -> None:
    chosen = select_questions(_pool(), Composition(12, 0, 0), "general", {}, random.Random(3))
    counts = {d: sum(1 for c in chosen if c.domain == d) for d in DOMAINS}
    assert set(counts.values()) == {2}


def test_track_filter_takes_own_and_general_items_only() -> None:
    pool = _pool(2)
    own = [Candidate(uuid.uuid4(), T, "databases", ("data",)) for _ in range(3)]
    other = [Candidate(uuid.uuid4(), T, "web", ("web",)) for _ in range(20)]
    for seed in range(20):
        chosen = select_questions(
            pool + own + other, Composition(6, 0, 0), "data", {}, random.Random(seed)
        )
        assert not {c.id for c in chosen} & {c.id for c in other}
        # The track's own item comes first within its domain.
        assert {c.id for c in chosen if c.domain == "databases"} <= {c.id for c in own}


def test_recently_seen_questions_come_last_within_each_domain() -> None:
    pool = _pool(3)
    theory = [c for c in pool if c.type is T]
    # Two of the three items of every domain were seen recently.
    seen = set()
    for domain in DOMAINS:
        seen |= {c.id for c in [t for t in theory if t.domain == domain][:2]}
    for seed in range(10):
        chosen = select_questions(
            pool, Composition(6, 0, 0), "general", seen_at(seen), random.Random(seed)
        )
        assert not {c.id for c in chosen} & seen
        assert len({c.domain for c in chosen}) == 6


def test_domain_spread_outranks_novelty() -> None:
    """The issue's order: spread over domains first, prefer unseen items within a domain."""
    pool = _pool(3)
    theory = [c for c in pool if c.type is T]
    seen = {c.id for c in theory if c.domain == "web"}  # every web item was seen
    chosen = select_questions(
        pool, Composition(6, 0, 0), "general", seen_at(seen), random.Random(5)
    )
    assert len({c.domain for c in chosen}) == 6
    assert len({c.id for c in chosen} & seen) == 1
    # With everything seen, it still fills the assessment.
    everything = {c.id for c in pool}
    again = select_questions(
        pool, Composition(6, 0, 0), "general", seen_at(everything), random.Random(4)
    )
    assert len(again) == 6


def test_same_seed_same_assessment() -> None:
    pool = _pool()
    first = select_questions(pool, Composition(3, 3, 4), "general", {}, random.Random(42))
    shuffled = list(reversed(pool))
    second = select_questions(shuffled, Composition(3, 3, 4), "general", {}, random.Random(42))
    assert [c.id for c in first] == [c.id for c in second]
    other = select_questions(pool, Composition(3, 3, 4), "general", {}, random.Random(43))
    assert [c.id for c in other] != [c.id for c in first]


def test_shortage_names_each_type_and_how_many_exist() -> None:
    with pytest.raises(DomainError) as caught:
        select_questions(_pool(1), Composition(3, 20, 9), "general", {}, random.Random(0))
    messages = {p.field: p.message for p in caught.value.problems}
    assert set(messages) == {("input", "composition", "essay"), ("input", "composition", "profile")}
    assert "Only 6 active ESSAY" in messages[("input", "composition", "essay")]
    assert "Only 6 active PROFILE" in messages[("input", "composition", "profile")]
