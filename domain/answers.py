"""Validating an answer against the question snapshot it answers, and scoring it by rule."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import Problems
from domain.questions import QuestionType
from domain.text import clean_text

ESSAY_MIN, ESSAY_MAX = 1, 5000
_INTEGER = re.compile(r"^[+-]?\d{1,6}$")


@dataclass(frozen=True)
class Snapshot:
    """What an answer is checked against: the question as the assessment holds it."""

    type: QuestionType
    option_keys: Sequence[str] = ()
    scale_min: int = 1
    scale_max: int = 5
    correct_key: str | None = None


@dataclass(frozen=True)
class Answer:
    """A valid, normalised answer. Exactly one of option / text / number is set."""

    option: str | None = None
    text: str | None = None
    number: int | None = None
    is_correct: bool | None = None

    def as_text(self) -> str:
        if self.option is not None:
            return self.option
        if self.number is not None:
            return str(self.number)
        return self.text or ""


def check_answer(raw: str, snapshot: Snapshot, problems: Problems, *path: str) -> Answer | None:
    if snapshot.type is QuestionType.THEORETICAL:
        key = raw.strip().upper()
        if key not in snapshot.option_keys:
            problems.invalid(
                f"Answer with one of the option keys {', '.join(snapshot.option_keys)}.", *path
            )
            return None
        return Answer(option=key, is_correct=key == snapshot.correct_key)
    if snapshot.type is QuestionType.PROFILE:
        value = raw.strip()
        if not _INTEGER.match(value) or not (
            snapshot.scale_min <= int(value) <= snapshot.scale_max
        ):
            problems.invalid(
                f"Answer with a whole number from {snapshot.scale_min} to {snapshot.scale_max}.",
                *path,
            )
            return None
        return Answer(number=int(value))
    text = clean_text(raw)
    if not ESSAY_MIN <= len(text) <= ESSAY_MAX:
        problems.invalid(f"An essay answer has {ESSAY_MIN}..{ESSAY_MAX} characters.", *path)
        return None
    return Answer(text=text)
