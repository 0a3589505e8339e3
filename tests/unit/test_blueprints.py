"""Track blueprints: the shipped ones honoured by selection against the shipped bank, the
allocation rules on other form sizes, and blueprint validation."""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter

import pytest

from domain.composition import Composition
from domain.errors import DomainError
from domain.questions import QuestionType
from domain.selection import Candidate, select_questions
from domain.tracks import (
    CORE_MIN_ITEMS,
    CORE_SHARE,
    Blueprint,
    BlueprintDraft,
    DomainWeight,
    allocate,
    validate_blueprint,
)
from seeds.loader import DEFAULT_FILES, SeedData, SeedError, parse
from tests.unit.seen import seen_at

SHIPPED = {"general", "data", "web", "cloud", "security", "software"}
SCORED = (QuestionType.THEORETICAL, QuestionType.ESSAY)


@pytest.fixture(scope="module")
def seeds() -> SeedData:
    return parse(dict(DEFAULT_FILES))


def _pool(seeds: SeedData) -> list[Candidate]:
    # uuid5 of the key: stable ids, as the bank has once loaded.
    return [
        Candidate(
            id=uuid.uuid5(uuid.NAMESPACE_URL, key),
            type=spec.type,
            domain=spec.domain,
            tracks=tuple(spec.tracks),
            interest_area=spec.interest_area,
            difficulty=spec.difficulty,
        )
        for key, spec in seeds.questions
        if spec.active
    ]


def _default_form(seeds: SeedData) -> Composition:
    return next(c for name, c, _ in seeds.forms if name == "default")


def _assert_honoured(blueprint: Blueprint, chosen: list[Candidate]) -> None:
    scored = [c for c in chosen if c.type in SCORED]
    per_domain = Counter(c.domain for c in scored)
    core = blueprint.core()
    in_core = sum(per_domain[d] for d in core)
    assert in_core >= math.ceil(CORE_SHARE * len(scored)), (blueprint.name, per_domain)
    assert set(per_domain) <= {d.domain for d in blueprint.domains}, per_domain
    if len(scored) < CORE_MIN_ITEMS * len(core):
        return  # too few items for the two-per-core-domain rule: the core shares them
    core_weights = [blueprint.weight_of(d) for d in core]
    for domain, count in per_domain.items():
        if count == 1:
            # A domain rests on one item only when the blueprint weights it below the core.
            assert blueprint.weight_of(domain) < min(core_weights), (blueprint.name, domain)


def test_shipped_tracks_are_the_six_with_a_broad_general(seeds: SeedData) -> None:
    tracks = {b.name: b for b in seeds.tracks}
    assert set(tracks) == SHIPPED
    assert len(tracks["general"].domains) == 8  # the broad one: every domain of the bank
    assert tracks["security"].core() == ("security", "networking", "programming")
    for blueprint in tracks.values():
        assert all(d.weight > 0 for d in blueprint.domains)


@pytest.mark.parametrize("track", sorted(SHIPPED))
def test_default_form_honours_every_shipped_blueprint(seeds: SeedData, track: str) -> None:
    blueprint = next(b for b in seeds.tracks if b.name == track)
    pool = _pool(seeds)
    form = _default_form(seeds)
    for seed in range(100):
        chosen = select_questions(pool, form, track, {}, random.Random(seed), blueprint)
        assert [c.type for c in chosen] == (
            [QuestionType.THEORETICAL] * form.theoretical
            + [QuestionType.ESSAY] * form.essay
            + [QuestionType.PROFILE] * form.profile
        )
        _assert_honoured(blueprint, chosen)
        per_domain = Counter(c.domain for c in chosen if c.type in SCORED)
        for domain in blueprint.core():
            assert per_domain[domain] >= CORE_MIN_ITEMS, (track, seed, per_domain)
        # Only the track's own and general items.
        assert all(track in c.tracks or "general" in c.tracks for c in chosen)


@pytest.mark.parametrize("track", sorted(SHIPPED))
def test_other_form_sizes_keep_the_core_share(seeds: SeedData, track: str) -> None:
    blueprint = next(b for b in seeds.tracks if b.name == track)
    pool = _pool(seeds)
    for theory, essay in [(1, 0), (2, 2), (5, 5), (10, 4), (20, 10)]:
        form = Composition(theory, essay, 0)
        chosen = select_questions(pool, form, track, {}, random.Random(7), blueprint)
        assert len(chosen) == theory + essay
        _assert_honoured(blueprint, chosen)
        if theory + essay >= 6:
            per_domain = Counter(c.domain for c in chosen)
            assert all(per_domain[d] >= CORE_MIN_ITEMS for d in blueprint.core())


def test_default_form_mixes_theory_and_essay_in_each_core_domain(seeds: SeedData) -> None:
    blueprint = next(b for b in seeds.tracks if b.name == "security")
    chosen = select_questions(
        _pool(seeds), _default_form(seeds), "security", {}, random.Random(3), blueprint
    )
    pairs = Counter((c.domain, c.type) for c in chosen if c.type in SCORED)
    assert pairs == {(d, t): 1 for d in blueprint.core() for t in SCORED}


def test_recently_seen_come_last_and_seed_decides(seeds: SeedData) -> None:
    blueprint = next(b for b in seeds.tracks if b.name == "web")
    pool = _pool(seeds)
    form = _default_form(seeds)
    first = select_questions(pool, form, "web", {}, random.Random(11), blueprint)
    again = select_questions(list(reversed(pool)), form, "web", {}, random.Random(11), blueprint)
    assert [c.id for c in first] == [c.id for c in again]
    seen = {c.id for c in first if c.type in SCORED}
    retake = select_questions(pool, form, "web", seen_at(seen), random.Random(12), blueprint)
    assert not {c.id for c in retake} & seen
    _assert_honoured(blueprint, retake)


def _blueprint(*weights: tuple[str, int]) -> Blueprint:
    return Blueprint("t", "T", "", tuple(DomainWeight(d, w) for d, w in weights))


def test_allocation_ties_follow_listing_order_and_weight_is_monotone() -> None:
    blueprint = _blueprint(("a", 3), ("b", 3), ("c", 3), ("d", 2), ("e", 2), ("f", 1))
    capacity = dict.fromkeys("abcdef", 50)
    assert allocate(blueprint, 6, capacity) == {"a": 2, "b": 2, "c": 2}
    ten = allocate(blueprint, 10, capacity)
    # Highest averages: after d and e, a, b, c (3/3) and f (1/1) tie: the ranking decides.
    assert ten == {"a": 3, "b": 3, "c": 2, "d": 1, "e": 1}
    # Equal weights everywhere: the core share still holds.
    flat = _blueprint(*((name, 1) for name in "abcdefgh"))
    twenty = allocate(flat, 20, dict.fromkeys("abcdefgh", 50))
    assert sum(twenty.values()) == 20
    assert sum(twenty[d] for d in "abc") >= 12


def test_allocation_respects_what_the_bank_holds() -> None:
    blueprint = _blueprint(("a", 5), ("b", 4), ("c", 3))
    assert allocate(blueprint, 6, {"a": 1, "b": 5, "c": 5}) == {"a": 1, "b": 3, "c": 2}
    assert sum(allocate(blueprint, 9, {"a": 1, "b": 1, "c": 1}).values()) == 3


def test_selection_refuses_a_blueprint_the_bank_cannot_serve() -> None:
    blueprint = _blueprint(("a", 5), ("b", 4), ("c", 3))
    pool = [Candidate(uuid.uuid4(), QuestionType.THEORETICAL, d, ("general",)) for d in "abc"]
    pool += [Candidate(uuid.uuid4(), QuestionType.THEORETICAL, "z", ("general",))] * 3
    with pytest.raises(DomainError) as caught:
        select_questions(pool, Composition(6, 0, 0), "t", {}, random.Random(0), blueprint)
    assert caught.value.problems[0].field == ("input", "composition")
    assert "blueprint" in caught.value.problems[0].message


# ---------------------------------------------------------------- validation


def _draft(**extra: object) -> BlueprintDraft:
    fields: dict[str, object] = {
        "name": "Ops",
        "title": " Operations ",
        "description": "Run things.",
        "domains": [("cloud-devops", 3), ("networking", 2)],
    }
    fields.update(extra)
    return BlueprintDraft(**fields)  # type: ignore[arg-type]


def test_a_valid_blueprint_is_normalised() -> None:
    blueprint = validate_blueprint(_draft(), {"cloud-devops", "networking"}, "input")
    assert blueprint.name == "ops"
    assert blueprint.title == "Operations"
    assert blueprint.domains == (DomainWeight("cloud-devops", 3), DomainWeight("networking", 2))
    assert blueprint.core() == ("cloud-devops", "networking")


def test_every_problem_is_named_by_its_path() -> None:
    draft = _draft(
        name="bad name!",
        title="",
        domains=[("cloud-devops", 0), ("astrology", 2), ("cloud-devops", -1)],
    )
    with pytest.raises(DomainError) as caught:
        validate_blueprint(draft, {"cloud-devops", "networking"}, "input")
    fields = [p.field for p in caught.value.problems]
    assert fields == [
        ("input", "name"),
        ("input", "title"),
        ("input", "domains", "0", "weight"),
        ("input", "domains", "1", "domain"),
        ("input", "domains", "2", "domain"),
        ("input", "domains", "2", "weight"),
    ]
    messages = " ".join(p.message for p in caught.value.problems)
    assert "'astrology' has no active scored questions" in messages
    assert "listed twice" in messages


def test_a_blueprint_needs_a_domain() -> None:
    with pytest.raises(DomainError) as caught:
        validate_blueprint(_draft(domains=[]), {"web"}, "input")
    assert [p.field for p in caught.value.problems] == [("input", "domains")]


def test_invalid_track_seeds_name_file_item_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "tracks.yaml"
    bad.write_text(
        "tracks:\n"
        "  - {name: ops, title: Ops, domains: [{domain: web, weight: 0}]}\n"
        "  - {name: ops, title: Ops again, domains: [{domain: web, weight: 1}]}\n"
        "  - {name: astro, title: Astro, domains: [{domain: astrology, weight: 2}]}\n"
    )
    with pytest.raises(SeedError) as caught:
        parse({"questions": DEFAULT_FILES["questions"], "tracks": bad})
    text = str(caught.value)
    assert f"{bad}: item 1 (ops): field input.domains.0.weight:" not in text  # no API prefix
    assert f"{bad}: item 1 (ops): field domains.0.weight:" in text
    assert f"{bad}: item 2 (ops): field name: duplicate 'ops'" in text
    assert f"{bad}: track astro: field domains.0.domain: 'astrology' has no active" in text
