"""Question and answer rules, and the lifecycle states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.answers import Snapshot, check_answer
from domain.errors import DomainError, ErrorCode, Problems
from domain.lifecycle import Status, effective_status, ensure_answerable
from domain.questions import Criterion, QuestionDraft, QuestionType, Scale, validate_question

T, E, P = QuestionType.THEORETICAL, QuestionType.ESSAY, QuestionType.PROFILE


def _fields(draft: QuestionDraft) -> set[tuple[str, ...] | None]:
    with pytest.raises(DomainError) as caught:
        validate_question(draft, "input")
    return {p.field for p in caught.value.problems}


def test_theoretical_rules() -> None:
    spec = validate_question(
        QuestionDraft(T, " 2+2? ", "Math", options=["3", "4"], correct="4"), "input"
    )
    assert spec.correct_key == "B"
    assert spec.options == (("A", "3"), ("B", "4"))
    assert spec.domain == "math"
    assert spec.prompt == "2+2?"
    assert (
        validate_question(QuestionDraft(T, "q", "d", options=["x", "y"], correct="a")).correct_key
        == "A"
    )
    assert _fields(QuestionDraft(T, "q", "d", options=["only"], correct="A")) == {
        ("input", "options")
    }
    assert _fields(QuestionDraft(T, "q", "d", options=["x", "X"], correct="A")) == {
        ("input", "options", "1")
    }
    assert _fields(QuestionDraft(T, "q", "d", options=["x", "y"], correct="z")) == {
        ("input", "correct")
    }
    assert _fields(QuestionDraft(T, "q", "d", options=[str(i) for i in range(9)], correct="A")) == {
        ("input", "options")
    }


def test_essay_rules() -> None:
    spec = validate_question(QuestionDraft(E, "Explain", "web", reference_answer="Because."))
    assert [c.name for c in spec.rubric] == ["clarity", "accuracy", "coherence"]
    assert all(c.weight == 1.0 for c in spec.rubric)
    assert validate_question(QuestionDraft(E, "Explain", "web", key_points=["a", "b"])).key_points
    assert _fields(QuestionDraft(E, "Explain", "web", key_points=["a"])) == {
        ("input", "referenceAnswer")
    }
    assert _fields(
        QuestionDraft(E, "Explain", "web", reference_answer="r", rubric=[Criterion("x", None, 0)])
    ) == {("input", "rubric", "0", "weight")}
    assert _fields(
        QuestionDraft(E, "Explain", "web", reference_answer="r", options=["a", "b"])
    ) == {("input", "options")}


def test_profile_rules() -> None:
    spec = validate_question(QuestionDraft(P, "Interest in ML?", "interests", interest_area="ML"))
    assert spec.scale == Scale(1, 5)
    assert spec.interest_area == "ml"
    assert _fields(QuestionDraft(P, "?", "i", scale=Scale(5, 5), interest_area="ml")) == {
        ("input", "scale")
    }
    assert _fields(QuestionDraft(P, "?", "i")) == {("input", "interestArea")}


def test_prompt_length() -> None:
    assert _fields(QuestionDraft(E, "   ", "web", reference_answer="r")) == {("input", "prompt")}
    assert _fields(QuestionDraft(E, "x" * 2001, "web", reference_answer="r")) == {
        ("input", "prompt")
    }


def test_answers_are_checked_against_the_snapshot() -> None:
    theory = Snapshot(T, option_keys=("A", "B", "C"), correct_key="B")
    problems = Problems()
    answer = check_answer(" b ", theory, problems)
    assert answer is not None
    assert (answer.option, answer.is_correct) == ("B", True)
    assert check_answer("D", theory, problems, "x") is None
    profile = Snapshot(P, scale_min=1, scale_max=5)
    assert check_answer("4", profile, problems).number == 4  # type: ignore[union-attr]
    for bad in ("0", "6", "4.5", "four", ""):
        assert check_answer(bad, profile, problems) is None
    essay = Snapshot(E)
    cleaned = check_answer("  hello\x00 world\x07\n ", essay, problems)
    assert cleaned is not None
    assert cleaned.text == "hello world"
    assert check_answer("\x00\x01  ", essay, problems) is None
    assert check_answer("x" * 5001, essay, problems) is None
    assert check_answer("x" * 5000, essay, problems) is not None


def test_drafts_expire_and_only_drafts_take_answers() -> None:
    now = datetime.now(UTC)
    assert effective_status(Status.DRAFT, now - timedelta(seconds=1), now) is Status.EXPIRED
    assert effective_status(Status.DRAFT, now + timedelta(hours=1), now) is Status.DRAFT
    assert effective_status(Status.DONE, now - timedelta(days=9), now) is Status.DONE
    ensure_answerable(Status.DRAFT)
    with pytest.raises(DomainError) as expired:
        ensure_answerable(Status.EXPIRED)
    assert expired.value.problems[0].code is ErrorCode.EXPIRED
    with pytest.raises(DomainError) as queued:
        ensure_answerable(Status.QUEUED)
    assert queued.value.problems[0].code is ErrorCode.INVALID_STATE
