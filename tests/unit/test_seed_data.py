"""The shipped question bank and catalog: integrity and coverage."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from domain.catalog import Level
from domain.questions import QuestionType
from seeds.loader import DEFAULT_FILES, SeedError, parse

DOMAINS = {"programming", "algorithms", "databases", "networking", "security", "cloud-devops",
           "data-ml", "web"}  # fmt: skip
AREAS = {"data", "web", "ml", "security", "cloud", "software", "networking", "databases"}
TRACKS = {"data", "web", "cloud", "security", "software"}


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return parse(dict(DEFAULT_FILES))


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def test_bank_integrity(data) -> None:  # type: ignore[no-untyped-def]
    keys = [key for key, _ in data.questions]
    assert len(keys) == len(set(keys))
    prompts = [_normalised(spec.prompt) for _, spec in data.questions]
    assert len(prompts) == len(set(prompts)), "duplicate prompts"
    for key, spec in data.questions:
        if spec.type is QuestionType.THEORETICAL:
            assert spec.correct_key in {k for k, _ in spec.options}, key
            assert len({t.casefold() for _, t in spec.options}) == len(spec.options), key


def test_bank_coverage(data) -> None:  # type: ignore[no-untyped-def]
    theory = Counter(s.domain for _, s in data.questions if s.type is QuestionType.THEORETICAL)
    essays = [s for _, s in data.questions if s.type is QuestionType.ESSAY]
    profile = [s for _, s in data.questions if s.type is QuestionType.PROFILE]
    assert set(theory) == DOMAINS
    assert all(count >= 10 for count in theory.values()), theory
    assert sum(theory.values()) >= 80
    assert Counter(s.domain for s in essays) == dict.fromkeys(DOMAINS, 3)
    for essay in essays:
        assert essay.reference_answer
        assert 3 <= len(essay.key_points) <= 6
    assert len(profile) >= 10
    assert {s.interest_area for s in profile} >= AREAS
    for domain in DOMAINS:
        difficulties = {
            s.difficulty
            for _, s in data.questions
            if s.type is QuestionType.THEORETICAL and s.domain == domain
        }
        assert {1, 2, 3} <= difficulties, domain
    tracks = {t for _, s in data.questions for t in s.tracks}
    assert tracks >= TRACKS | {"general"}


def test_catalog_integrity_and_coverage(data) -> None:  # type: ignore[no-untyped-def]
    credentials = data.credentials
    assert len(credentials) >= 60
    assert len({c.slug for c in credentials}) == len(credentials)
    assert all(c.url and c.url.startswith("https://") for c in credentials)
    assert all(c.provider and c.description for c in credentials)
    assert all(set(c.domains) <= DOMAINS and c.domains for c in credentials)
    covered = {(d, c.level) for c in credentials for d in c.domains}
    for domain in DOMAINS:
        for level in Level:
            assert (domain, level) in covered, (domain, level)


def test_invalid_seed_files_name_file_item_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bank.yaml"
    bad.write_text(
        "questions:\n"
        "  - {key: a, type: THEORETICAL, domain: web, prompt: p, options: [x, y], correct: z}\n"
        "  - {key: a, type: ESSAY, domain: web, prompt: p, reference_answer: r}\n"
        "  - {key: c, type: NOPE, domain: web, prompt: p}\n"
    )
    with pytest.raises(SeedError) as caught:
        parse({"questions": bad})
    text = str(caught.value)
    assert f"{bad}: item 1 (a): field correct:" in text
    assert f"{bad}: item 2 (a): field key: duplicate 'a'" in text
    assert f"{bad}: item 3 (c): invalid value: type must be one of" in text
