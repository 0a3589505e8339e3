"""A model that knows nothing but the schema (issue 12, point 3): through the real app and the
real openai client, the fake OpenAI server answers every chat request with a random instance of
the request's response_format schema and reads nothing else (tests/support/schema_only_openai).
Whatever such a server (vLLM or llama.cpp guided decoding, Ollama's `format`) says, the essays
are scored by the LLM, first time, not degraded, and the recommendations are explained by it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain import fusion_prompt
from domain.essays import clamp01
from tests.support.client import register_and_login
from tests.support.db import rows, uuid_param
from tests.support.flows import SAVE, START, valid_answer
from tests.support.llm_stack import LlmStack, llm_stack
from tests.support.schema_only_openai import SchemaOnlyModel
from tests.support.stacks import selected_stacks

SEEDS = (12, 1203)


@pytest.fixture(scope="module", params=selected_stacks())
async def llm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LlmStack]:
    async with llm_stack(request.param, tmp_path_factory.mktemp(f"guided-{request.param}")) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_fake(llm: LlmStack) -> None:
    llm.reset()


async def _reference_answer(llm: LlmStack, question_id: str) -> str:
    """The question's own reference answer: a genuine answer, which no local check flags, so
    what the result shows is the LLM's score and nothing else."""
    [row] = await rows(
        llm.server,
        "SELECT answer_key_json FROM assessment_questions WHERE id = :id",
        id=uuid_param(llm.server, question_id),
    )
    key = row["answer_key_json"]
    key = json.loads(key) if isinstance(key, str) else key
    return str(key.get("referenceAnswer") or "A stack is last in, first out.")


async def _submit(llm: LlmStack) -> tuple[Any, dict[str, Any]]:
    student = await register_and_login(llm.client)
    body = await llm.client.data(START, {"input": {"track": "general"}}, student.token)
    assessment = body["startAssessment"]["assessment"]
    responses = [
        {
            "questionId": q["id"],
            "answer": await _reference_answer(llm, q["id"])
            if q["type"] == "ESSAY"
            else valid_answer(q),
        }
        for q in assessment["questions"]
    ]
    saved = await llm.client.data(
        SAVE,
        {"input": {"assessmentId": assessment["id"], "responses": responses,
                   "isFinalChunk": True}},
        student.token,
    )  # fmt: skip
    assert saved["saveResponses"]["errors"] == [], saved
    return student, assessment


def _rubric_scores(criteria: dict[str, Any]) -> list[tuple[str, float]]:
    return sorted((name, round(clamp01(c["score"]), 4)) for name, c in criteria.items())


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_schema_only_model_scores_every_essay_and_explains_the_bundle(
    llm: LlmStack, seed: int
) -> None:
    model = SchemaOnlyModel(seed=seed)
    llm.fake.responder = model
    student, assessment = await _submit(llm)
    result = await llm.result(student, assessment)

    essays = result["scores"]["essays"]
    assert len(essays) == 3
    assert all(e["scoredBy"] == "LLM" and not e["degraded"] for e in essays), essays
    assert result["degraded"] is False
    # One call, and its first answer was taken: no retry was needed to get a usable one.
    [scored] = model.answered("essay_scores")
    assert len(scored["essays"]) == 3
    # The result holds the model's numbers (clamped, rounded), criterion by criterion.
    generated = sorted(_rubric_scores(e["criteria"]) for e in scored["essays"].values())
    shown = sorted(sorted((c["name"], c["score"]) for c in e["rubric"]) for e in essays)
    assert [[name for name, _ in g] for g in generated] == [[n for n, _ in s] for s in shown]
    for want, got in zip(generated, shown, strict=True):
        assert [score for _, score in got] == pytest.approx([s for _, s in want], abs=1e-4)
    assert all(e["feedback"].strip() for e in essays)
    assert [u["purpose"] for u in await llm.usage(assessment)] == ["essays"]

    bundle = result["recommendations"]
    assert bundle["degraded"] is False
    [explained] = model.answered("recommendation_explanations")
    slugs = [item["credential"]["slug"] for item in bundle["items"]]
    assert sorted(explained["reasons"]) == sorted(slugs)
    # The words are the model's, as its parser makes them (not the templates').
    expected = fusion_prompt.parse_answer(json.dumps(explained), slugs)
    assert bundle["summary"] == expected.summary
    for item in bundle["items"]:
        assert item["reasonShort"] == expected.reasons[item["credential"]["slug"]]
    assert len(await llm.usage(assessment, "fusion")) == 1
