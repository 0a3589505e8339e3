"""Rules for the question bank: what a valid question of each type is.

Used by createQuestion / updateQuestion and by the seed loader, so a seeded bank can never hold
a question the API would refuse."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import Problems
from domain.text import clean_text

PROMPT_MAX = 2000
OPTION_MAX = 500
OPTIONS_MIN, OPTIONS_MAX = 2, 8
REFERENCE_MAX = 5000
KEY_POINT_MAX = 300
KEY_POINTS_MAX = 12
RUBRIC_MAX = 8
# Rubric descriptions and scale labels were unbounded: 100 000 characters were stored.
CRITERION_DESCRIPTION_MAX = 500
SCALE_LABEL_MAX = 60
DIFFICULTY_MIN, DIFFICULTY_MAX = 1, 5
SCALE_BOUND = 100
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
OPTION_KEYS = "ABCDEFGH"


class QuestionType(StrEnum):
    THEORETICAL = "theory"
    ESSAY = "essay"
    PROFILE = "profile"


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str | None = None
    weight: float = 1.0


DEFAULT_RUBRIC = (
    Criterion("clarity", "Is the answer clear, well organised and easy to follow?"),
    Criterion(
        "accuracy", "Are the statements technically correct and do they cover the key points?"
    ),
    Criterion("coherence", "Do the ideas connect logically into one argument?"),
)


@dataclass(frozen=True)
class Scale:
    min: int = 1
    max: int = 5
    min_label: str | None = None
    max_label: str | None = None


@dataclass(frozen=True)
class QuestionDraft:
    """A question as a caller describes it (API input or seed file), before validation."""

    type: QuestionType
    prompt: str
    domain: str
    tracks: Sequence[str] | None = ("general",)
    difficulty: int | None = None
    options: Sequence[str] | None = None
    correct: str | None = None
    rubric: Sequence[Criterion] | None = None
    reference_answer: str | None = None
    key_points: Sequence[str] | None = None
    scale: Scale | None = None
    interest_area: str | None = None
    active: bool = True


@dataclass(frozen=True)
class QuestionSpec:
    """A valid question, normalised: what the bank stores."""

    type: QuestionType
    prompt: str
    domain: str
    tracks: tuple[str, ...]
    difficulty: int | None
    options: tuple[tuple[str, str], ...] = ()
    correct_key: str | None = None
    rubric: tuple[Criterion, ...] = ()
    reference_answer: str | None = None
    key_points: tuple[str, ...] = ()
    scale: Scale | None = None
    interest_area: str | None = None
    active: bool = True
    extra: dict[str, object] = field(default_factory=dict)


def validate_question(draft: QuestionDraft, *path: str) -> QuestionSpec:
    """The normalised question, or DomainError listing every problem with its field path."""
    problems = Problems()
    prompt = clean_text(draft.prompt)
    if not 1 <= len(prompt) <= PROMPT_MAX:
        problems.invalid(f"Prompt must be 1..{PROMPT_MAX} characters.", *path, "prompt")
    domain = draft.domain.strip().lower()
    if not _SLUG.match(domain):
        problems.invalid(
            "Domain must be a lower-case name like 'databases' (letters, digits, dashes).",
            *path,
            "domain",
        )
    tracks = _tracks(draft.tracks, problems, *path, "tracks")
    if draft.difficulty is not None and not DIFFICULTY_MIN <= draft.difficulty <= DIFFICULTY_MAX:
        problems.invalid(
            f"Difficulty must be {DIFFICULTY_MIN}..{DIFFICULTY_MAX}.", *path, "difficulty"
        )
    _only_for(draft, problems, path)

    spec_fields: dict[str, object] = {}
    if draft.type is QuestionType.THEORETICAL:
        spec_fields = _theoretical(draft, problems, path)
    elif draft.type is QuestionType.ESSAY:
        spec_fields = _essay(draft, problems, path)
    else:
        spec_fields = _profile(draft, problems, path)
    problems.raise_if_any()
    return QuestionSpec(
        type=draft.type,
        prompt=prompt,
        domain=domain,
        tracks=tracks,
        difficulty=draft.difficulty,
        active=draft.active,
        **spec_fields,  # type: ignore[arg-type]
    )


def _tracks(raw: Sequence[str] | None, problems: Problems, *path: str) -> tuple[str, ...]:
    if raw is None:
        return ("general",)
    tracks: list[str] = []
    for index, item in enumerate(raw):
        track = item.strip().lower()
        if not _SLUG.match(track):
            problems.invalid("Each track must be a lower-case name.", *path, str(index))
        elif track not in tracks:
            tracks.append(track)
    if not tracks and not problems:
        problems.invalid("At least one track (for example 'general').", *path)
    return tuple(tracks)


_TYPE_ONLY = {
    "options": QuestionType.THEORETICAL,
    "correct": QuestionType.THEORETICAL,
    "rubric": QuestionType.ESSAY,
    "reference_answer": QuestionType.ESSAY,
    "key_points": QuestionType.ESSAY,
    "scale": QuestionType.PROFILE,
    "interest_area": QuestionType.PROFILE,
}
_CAMEL = {"reference_answer": "referenceAnswer", "key_points": "keyPoints",
          "interest_area": "interestArea"}  # fmt: skip


def _only_for(draft: QuestionDraft, problems: Problems, path: tuple[str, ...]) -> None:
    for attribute, owner in _TYPE_ONLY.items():
        if getattr(draft, attribute) is not None and draft.type is not owner:
            name = _CAMEL.get(attribute, attribute)
            problems.invalid(f"{name} only applies to {owner.name} questions.", *path, name)


def _theoretical(
    draft: QuestionDraft, problems: Problems, path: tuple[str, ...]
) -> dict[str, object]:
    raw = list(draft.options or [])
    if not OPTIONS_MIN <= len(raw) <= OPTIONS_MAX:
        problems.invalid(
            f"A THEORETICAL question needs {OPTIONS_MIN}..{OPTIONS_MAX} options.", *path, "options"
        )
        return {}
    options: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, text in enumerate(raw):
        cleaned = clean_text(text)
        if not 1 <= len(cleaned) <= OPTION_MAX:
            problems.invalid(
                f"Each option must be 1..{OPTION_MAX} characters.", *path, "options", str(index)
            )
        elif cleaned.casefold() in seen:
            problems.invalid("Options must be distinct.", *path, "options", str(index))
        seen.add(cleaned.casefold())
        options.append((OPTION_KEYS[index], cleaned))
    correct_key = _correct_key(draft.correct, options)
    if correct_key is None:
        problems.invalid(
            "correct must name one of the options, by its key (A, B, ...) or its exact text.",
            *path,
            "correct",
        )
    return {"options": tuple(options), "correct_key": correct_key}


def _correct_key(correct: str | None, options: Sequence[tuple[str, str]]) -> str | None:
    if correct is None:
        return None
    given = clean_text(correct)
    for key, _text in options:
        if given.upper() == key:
            return key
    for key, text in options:
        if given == text:
            return key
    return None


def _essay(draft: QuestionDraft, problems: Problems, path: tuple[str, ...]) -> dict[str, object]:
    rubric = tuple(draft.rubric) if draft.rubric else DEFAULT_RUBRIC
    if len(rubric) > RUBRIC_MAX:
        problems.invalid(f"At most {RUBRIC_MAX} rubric criteria.", *path, "rubric")
    names: set[str] = set()
    cleaned_rubric: list[Criterion] = []
    for index, criterion in enumerate(rubric):
        name = criterion.name.strip().lower()
        if not _SLUG.match(name.replace("_", "-")):
            problems.invalid("Criterion names are short lower-case words.", *path, "rubric",
                             str(index), "name")  # fmt: skip
        elif name in names:
            problems.invalid("Criterion names must be distinct.", *path, "rubric", str(index),
                             "name")  # fmt: skip
        names.add(name)
        if not criterion.weight > 0:
            problems.invalid("Weights must be greater than 0.", *path, "rubric", str(index),
                             "weight")  # fmt: skip
        description = clean_text(criterion.description) if criterion.description else None
        if description and len(description) > CRITERION_DESCRIPTION_MAX:
            problems.invalid(
                f"A criterion description has at most {CRITERION_DESCRIPTION_MAX} characters.",
                *path, "rubric", str(index), "description",
            )  # fmt: skip
        cleaned_rubric.append(Criterion(name, description or None, float(criterion.weight)))
    reference = clean_text(draft.reference_answer) if draft.reference_answer else None
    if reference and len(reference) > REFERENCE_MAX:
        problems.invalid(
            f"Reference answer must be at most {REFERENCE_MAX} characters.",
            *path,
            "referenceAnswer",
        )
    key_points = tuple(clean_text(p) for p in (draft.key_points or []) if clean_text(p))
    if len(key_points) > KEY_POINTS_MAX or any(len(p) > KEY_POINT_MAX for p in key_points):
        problems.invalid(
            f"At most {KEY_POINTS_MAX} key points of at most {KEY_POINT_MAX} characters.",
            *path,
            "keyPoints",
        )
    if not reference and len(key_points) < 2:
        problems.invalid(
            "An ESSAY question needs a reference answer or at least two key points.",
            *path,
            "referenceAnswer",
        )
    return {
        "rubric": tuple(cleaned_rubric),
        "reference_answer": reference or None,
        "key_points": key_points,
    }


def _profile(draft: QuestionDraft, problems: Problems, path: tuple[str, ...]) -> dict[str, object]:
    scale = draft.scale or Scale()
    if not scale.min < scale.max:
        problems.invalid("The scale needs min < max.", *path, "scale")
    elif abs(scale.min) > SCALE_BOUND or abs(scale.max) > SCALE_BOUND:
        problems.invalid(f"Scale bounds must be within ±{SCALE_BOUND}.", *path, "scale")
    area = (draft.interest_area or "").strip().lower()
    if not _SLUG.match(area):
        problems.invalid(
            "A PROFILE question needs an interest area such as data, web, ml or security.",
            *path,
            "interestArea",
        )
    labels = Scale(
        scale.min,
        scale.max,
        clean_text(scale.min_label) or None if scale.min_label else None,
        clean_text(scale.max_label) or None if scale.max_label else None,
    )
    for label, key in ((labels.min_label, "minLabel"), (labels.max_label, "maxLabel")):
        if label and len(label) > SCALE_LABEL_MAX:
            problems.invalid(
                f"A scale label has at most {SCALE_LABEL_MAX} characters.", *path, "scale", key
            )
    return {"scale": labels, "interest_area": area or None}
