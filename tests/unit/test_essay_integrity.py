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
from domain.essay_integrity import (
    is_enumeration,
    question_remainder,
    term_list_segments,
    without_trailing_list,
)
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


# ------------------------------------------------ the question said back, generic words added
def test_the_remainder_is_what_the_answer_adds_to_the_question() -> None:
    question = "What is the main advantage of arrays over linked lists?"
    share, rest = question_remainder(
        "It is important to understand the main advantage of arrays over linked lists.", question
    )
    assert rest == "it is important to understand"
    assert share > 0.5
    share, rest = question_remainder("Arrays allow constant-time random access.", question)
    assert share == 0.0  # no run of three words of the question


ARRAYS = 3  # the bank's essay comparing arrays and linked lists


@pytest.mark.parametrize(
    "template",
    [
        "It is important to understand how to {core}, because it is used in practice.",
        "Well, whether you {core} depends on the situation, so it is hard to say in general.",
        "To {core} is a key idea in computer science and it matters in many programs.",
    ],
)
def test_a_restated_question_with_generic_words_earns_nothing(template: str) -> None:
    question = bank()[ARRAYS]
    core = "compare arrays and linked lists in terms of accessing an element by index"
    result = score(question, template.format(core=core), default_backend())
    assert EssayFlag.RESTATES_QUESTION in result.flags, result.details
    assert result.overall <= FLAGGED_CEILING


def test_an_answer_that_opens_with_the_question_keeps_its_score() -> None:
    question = bank()[ARRAYS]
    answer = (
        "Comparing arrays and linked lists in terms of accessing an element by index: an array "
        "computes the address of element i directly, so access is O(1), while a linked list "
        "must follow the pointers from the head, which is O(n). Inserting in the middle of an "
        "array shifts the later elements; in a list only two pointers change."
    )
    result = score(question, answer, default_backend())
    assert result.flags == (), result.details
    assert result.overall > 0.6


# ------------------------------------------------ enumerations appended to an answer
def test_an_enumeration_is_terms_whatever_words_they_are() -> None:
    topic = "What is a pointer? A variable that contains the address in memory of another variable."
    assert is_enumeration("Also variable, contains, address, memory, another.", topic)
    assert not is_enumeration("the address, then the value it points to", topic)
    assert not is_enumeration("int, char", topic)
    answer = "It holds a memory address. Keywords: variable, contains, address, another."
    assert without_trailing_list(answer, topic) == "It holds a memory address."
    assert without_trailing_list("It holds an address (memory, variable, another)", topic) == (
        "It holds an address"
    )
    genuine = "It holds the address of another variable, so the variable can be changed."
    assert without_trailing_list(genuine, topic) is None
    assert term_list_segments(genuine, topic) == []


@pytest.mark.parametrize(
    "appendix",
    [
        ". Also {commas}.",
        " Keywords: {commas}.",
        " ({commas})",
        "\n\nImportant terms: {commas}",
    ],
)
def test_an_appended_enumeration_earns_nothing(appendix: str) -> None:
    backend = default_backend()
    question = bank()[ARRAYS]
    partial = "An array stores its elements next to each other in memory."
    # the reference's own words, a function word among them, as the harvested key would give
    reference = question["reference_answer"].lower()
    terms = ["contiguous", "block", "which", "index", "shifting", "pointers"]
    assert all(f" {t} " in f" {reference} " or t in reference for t in terms), terms
    plain = score(question, partial, backend)
    attacked = score(question, partial + appendix.format(commas=", ".join(terms)), backend)
    assert EssayFlag.KEYWORD_LIST in attacked.flags
    assert attacked.overall <= min(plain.overall, FLAGGED_CEILING)


def test_a_genuine_answer_with_a_short_example_list_keeps_its_score() -> None:
    backend = default_backend()
    question = bank()[ARRAYS]
    answer = (
        "An array keeps its elements in one contiguous block of memory, so the address of "
        "element i is computed directly and indexing is O(1). Inserting or deleting in the "
        "middle shifts the later elements, which is O(n). A linked list must be traversed from "
        "the head to reach an index (O(n)), but inserting at a known node only changes "
        "pointers (O(1)); each node also stores pointers, so lists use more memory and have "
        "worse cache locality (for example with arrays, vectors)."
    )
    result = score(question, answer, backend)
    assert result.flags == (), result.details
    assert result.overall > 0.6
