"""Non-answers earn (almost) nothing, and feedback never hands out the key.

Each answer below is one a student trying to game the scorer would write; the shipped bank's
essays are the questions. Both scorer modes: MiniLM alignment and the lexical fallback."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.essay_flags import FLAGGED_CEILING, EssayFlag
from domain.essay_local import SimilarityBackend, score_essay
from domain.essay_syntax import MODEL
from domain.essays import CriterionScore, EssayResult, EssayTask, OtherQuestion, needs_review
from domain.feedback_guard import WITHHELD, guard_feedback, leaked_runs
from jobs.minilm import default_backend
from jobs.scoring import LocalScorer, guarded, with_second_opinion

ROOT = Path(__file__).resolve().parents[2]


@cache
def bank() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / "seeds" / "questions.yaml").read_text(encoding="utf-8"))
    return [q for q in data["questions"] if q["type"] == "ESSAY"]


def others_of(question: dict[str, Any]) -> list[OtherQuestion]:
    return [OtherQuestion(q["prompt"], q["reference_answer"]) for q in bank() if q is not question]


def score(question: dict[str, Any], answer: str, backend: SimilarityBackend | None) -> Any:
    return score_essay(
        question["prompt"], question["reference_answer"], answer,
        key_points=question["key_points"], backend=backend, other_questions=others_of(question),
    )  # fmt: skip


@pytest.fixture(params=[True, False], ids=["minilm", "lexical"])
def backend(request: pytest.FixtureRequest) -> SimilarityBackend | None:
    if not request.param:
        return None
    found = default_backend()
    if found is None:
        pytest.fail("the MiniLM model package is not installed (make install)")
    return found


def _shuffled(text: str, seed: int) -> str:
    words = text.split()
    random.Random(seed).shuffle(words)
    return " ".join(words)


def _non_answers(question: dict[str, Any]) -> list[tuple[str, str]]:
    reference = " ".join(question["reference_answer"].split())
    other = next(q for q in bank() if q["domain"] != question["domain"])
    terms = " ".join(dict.fromkeys(w.strip(".,;:()").lower() for w in reference.split()
                                   if len(w) > 5))  # fmt: skip
    first_sentence = reference.split(". ")[0] + "."
    return [
        ("refusal", "I don't know, sorry."),
        ("too short", terms.split()[0]),
        ("refusal", "I have not learned this yet so I cannot answer."),
        ("nonsense", "My cat sleeps on the sofa all afternoon and snores loudly."),
        ("restated", question["prompt"]),
        ("other question", " ".join(other["reference_answer"].split())),
        ("shuffled", _shuffled(reference, 1)),
        ("term list", terms),
        ("appended terms", f"{first_sentence} {terms}"),
    ]


@pytest.mark.parametrize("index", range(0, 24, 3))
def test_non_answers_are_flagged_and_score_almost_nothing(
    index: int, backend: SimilarityBackend | None
) -> None:
    question = bank()[index % len(bank())]
    for kind, answer in _non_answers(question):
        result = score(question, answer, backend)
        assert result.flags, (kind, answer[:80], result.details)
        assert result.overall <= FLAGGED_CEILING, (kind, result.overall)
        assert result.accuracy <= FLAGGED_CEILING


@pytest.mark.parametrize("index", range(len(bank())))
def test_genuine_answers_are_not_flagged(index: int) -> None:
    backend = default_backend()
    question = bank()[index]
    reference = " ".join(question["reference_answer"].split())
    result = score(question, reference, backend)
    assert result.flags == (), result.details
    assert result.overall > 0.6


def test_an_appended_term_list_never_raises_a_score() -> None:
    backend = default_backend()
    question = bank()[0]
    reference = " ".join(question["reference_answer"].split())
    partial = " ".join(reference.split(". ")[:2]) + "."
    plain = score(question, partial, backend)
    appendices = (
        "\nclass object instance blueprint runtime state methods",
        " Keywords: instance, blueprint, runtime, state, fields, methods.",
    )
    for appendix in appendices:
        assert score(question, partial + appendix, backend).overall <= plain.overall


def test_word_order_carries_the_meaning() -> None:
    sentence = ("A hash table stores each key in a bucket chosen by a hash function, and "
                "collisions are handled by chaining or open addressing.")  # fmt: skip
    assert MODEL.order_gain(sentence) > 0.5
    shuffles = [MODEL.order_gain(_shuffled(sentence, seed)) for seed in range(10)]
    assert sum(shuffles) / len(shuffles) < 0.3
    assert abs(MODEL.order_gain("hash bucket collision chaining addressing function")) < 0.1


def test_feedback_names_the_aspect_not_the_key_point(backend: SimilarityBackend | None) -> None:
    """Harvest: feedback over many partial answers to every essay never carries a run of five
    words of the reference or a key point that the student did not write."""
    harvested = 0
    for question in bank():
        reference = " ".join(question["reference_answer"].split())
        sentences = reference.split(". ")
        for answer in (sentences[0] + ".", sentences[-1], " ".join(sentences[1:3])):
            result = score(question, answer, backend)
            text = " ".join(result.feedback)
            secrets = [reference, *question["key_points"]]
            assert not leaked_runs(text, secrets=secrets, known=[answer, question["prompt"]]), text
            harvested += len(result.feedback)
    assert harvested > 50


def test_the_guard_drops_sentences_that_quote_the_key() -> None:
    key = "A stub returns predefined responses; a mock also verifies how it was called."
    leaky = "Good start. Remember that a mock also verifies how it was called. Add an example."
    assert guard_feedback(leaky, answer="tests", question="Why mocks?", secrets=[key]) == (
        "Good start. Add an example."
    )
    # Words the student wrote, or the question holds, reveal nothing.
    answer = "I think a mock also verifies how it was called."
    assert guard_feedback(leaky, answer=answer, question="Why mocks?", secrets=[key]) == leaky
    assert (
        guard_feedback(
            "A mock also verifies how it was called.", answer="", question="", secrets=[key]
        )
        == WITHHELD
    )


def _task(answer: str) -> EssayTask:
    question = bank()[0]
    return EssayTask(
        "q", question["prompt"], answer, question["reference_answer"],
        tuple(question["key_points"]), other_questions=tuple(others_of(question)),
    )  # fmt: skip


def test_the_local_second_opinion_caps_a_lenient_llm_and_sends_it_to_review() -> None:
    scorer = LocalScorer()
    task = _task("I don't know.")
    lenient = EssayResult("q", 0.9, (CriterionScore("accuracy", 0.9),), "Great.", "llm")
    checked = with_second_opinion(lenient, scorer.score_one(task))
    assert checked.flags == (EssayFlag.NO_ANSWER,)
    assert checked.score == 0.0
    assert checked.local_score == 0.0
    assert all(c.score == 0.0 for c in checked.criteria)
    assert needs_review(checked, 0.35)

    genuine = _task(" ".join(bank()[0]["reference_answer"].split()))
    local = scorer.score_one(genuine)
    agreeing = with_second_opinion(replace_score(lenient, local.score), local)
    assert agreeing.flags == ()
    assert not needs_review(agreeing, 0.35)
    far = with_second_opinion(replace_score(lenient, max(0.0, local.score - 0.5)), local)
    assert needs_review(far, 0.35)


def replace_score(result: EssayResult, value: float) -> EssayResult:
    return EssayResult(result.key, value, result.criteria, result.feedback, result.scored_by)


def test_llm_feedback_that_quotes_the_key_is_rewritten() -> None:
    task = _task("Objects are things.")
    point = task.key_points[1]
    text = guarded(task, f"You missed this: {point}. Otherwise fine.")
    assert point not in text
    assert not leaked_runs(text, secrets=[task.reference_answer or "", *task.key_points],
                           known=[task.answer, task.prompt])  # fmt: skip
