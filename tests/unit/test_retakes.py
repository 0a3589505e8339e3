"""The retake cooldown and the no-repeat rule across attempts, as pure functions."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.composition import Composition
from domain.errors import DomainError, ErrorCode
from domain.questions import QuestionType
from domain.retakes import RetakePolicy, check_cooldown_hours
from domain.selection import Candidate, select_questions
from domain.tracks import Blueprint, DomainWeight
from tests.unit.seen import days_ago

T, E = QuestionType.THEORETICAL, QuestionType.ESSAY
STARTED = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def test_the_form_overrides_the_setting() -> None:
    assert RetakePolicy.of(None, 24).cooldown_hours == 24
    assert RetakePolicy.of(6, 24).cooldown_hours == 6
    assert RetakePolicy.of(0, 24).cooldown_hours == 0


def test_during_the_cooldown_the_error_says_when_it_opens() -> None:
    policy = RetakePolicy(24)
    with pytest.raises(DomainError) as caught:
        policy.check(STARTED, STARTED + timedelta(hours=23), "input", "form")
    [problem] = caught.value.problems
    assert problem.code is ErrorCode.RATE_LIMITED
    assert problem.field == ("input", "form")
    assert problem.extra["retryAt"] == STARTED + timedelta(hours=24)
    assert problem.extra["retryAfterSeconds"] == 3600
    assert "2026-03-02T10:30:00Z" in problem.message


def test_nothing_holds_back_a_first_attempt_a_run_cooldown_or_none() -> None:
    RetakePolicy(24).check(None, STARTED)
    RetakePolicy(24).check(STARTED, STARTED + timedelta(hours=24))
    RetakePolicy(0).check(STARTED, STARTED)
    assert RetakePolicy(0).opens_at(STARTED) is None


def test_a_forms_cooldown_is_bounded() -> None:
    assert check_cooldown_hours(0) is None
    assert check_cooldown_hours(8760) is None
    assert check_cooldown_hours(-1) is not None
    assert check_cooldown_hours(8761) is not None


def _bank(theory: int, essays: int, domains: tuple[str, ...]) -> list[Candidate]:
    return [
        Candidate(uuid.uuid4(), kind, domain, ("general",))
        for domain in domains
        for kind, count in ((T, theory), (E, essays))
        for _ in range(count)
    ]


BLUEPRINT = Blueprint("t", "T", "", (DomainWeight("a", 3), DomainWeight("b", 2),
                                     DomainWeight("c", 1)))  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_attempts_repeat_nothing_until_a_pool_runs_out_then_least_recent_first(
    seed: int,
) -> None:
    """Three core domains with 4 theory items and 2 essays each; the 3 + 3 form takes one of
    each per domain. Four attempts see every theory item once; essays run out after two, and
    from then on each attempt repeats the essays seen longest ago."""
    pool = _bank(4, 2, ("a", "b", "c"))
    rng = random.Random(seed)
    history: dict[uuid.UUID, datetime] = {}
    attempts = []
    for attempt in range(4):
        chosen = select_questions(pool, Composition(3, 3, 0), "t", history, rng, BLUEPRINT)
        attempts.append(chosen)
        for candidate in chosen:
            history[candidate.id] = days_ago(10 - attempt)
    theory = Counter(c.id for chosen in attempts for c in chosen if c.type is T)
    assert len(theory) == 12
    assert set(theory.values()) == {1}
    essays = [{c.id for c in chosen if c.type is E} for chosen in attempts]
    assert not essays[0] & essays[1]
    # Attempt 3 repeats attempt 1's essays (the least recently seen), attempt 4 attempt 2's.
    assert essays[2] == essays[0]
    assert essays[3] == essays[1]


def test_the_least_recently_seen_come_first_whatever_the_seed() -> None:
    pool = _bank(3, 0, ("a",))
    oldest, middle, newest = (c.id for c in pool)
    seen = {newest: days_ago(1), middle: days_ago(5), oldest: days_ago(9)}
    blueprint = Blueprint("t", "T", "", (DomainWeight("a", 1),))
    for seed in range(10):
        chosen = select_questions(pool, Composition(2, 0, 0), "t", seen, random.Random(seed),
                                  blueprint)  # fmt: skip
        assert {c.id for c in chosen} == {oldest, middle}
