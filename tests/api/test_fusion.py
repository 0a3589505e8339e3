"""Recommendation explanations by the LLM (the FUSION stage) and OpenAI embeddings for
retrieval, through the real openai client against the fake OpenAI-compatible server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.support.db import rows
from tests.support.fake_openai import Behaviour
from tests.support.llm_stack import LlmStack, llm_stack
from tests.support.stacks import selected_stacks

TEMPLATE_REASON = re.compile(r"^(Builds|Matches|[A-Z][a-z]+-level|A well-rounded)")


@pytest.fixture(scope="module", params=selected_stacks())
async def llm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LlmStack]:
    async with llm_stack(request.param, tmp_path_factory.mktemp(f"fusion-{request.param}")) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_fake(llm: LlmStack) -> None:
    llm.reset()


async def test_one_grounded_call_explains_the_bundle(llm: LlmStack) -> None:
    student, assessment = await llm.submit()
    result = await llm.result(student, assessment)
    bundle = result["recommendations"]
    assert bundle["summary"] == "These credentials build on your profile."
    assert bundle["degraded"] is False
    for item in bundle["items"]:
        assert item["reasonShort"] == f"Grounded reason for {item['credential']['slug']}."
    [request] = llm.fake.fusion_requests()
    content = request["messages"][-1]["content"]
    assert request["temperature"] == 0
    assert request["response_format"]["json_schema"]["name"] == "recommendation_explanations"
    assert "## Student profile" in content
    assert content.count("### id: ") == len(bundle["items"])
    assert "<passage>" in content  # the retrieved catalog text it must stay within
    [usage] = await llm.usage(assessment, "fusion")
    assert usage["completion_tokens"] > 0
    # Retrieval embedded the profile's questions through the same accounting.
    assert llm.fake.embedding_requests
    embedded = await rows(llm.server, "SELECT count(*) AS n FROM llm_usage "
                                      "WHERE purpose = 'embedding'")  # fmt: skip
    assert embedded[0]["n"] > 0


async def test_an_answer_naming_a_credential_not_retrieved_is_retried(llm: LlmStack) -> None:
    invented = {"summary": "Take these.", "items": [
        {"id": "totally-made-up-cert", "reason": "It is the best."}]}  # fmt: skip
    llm.fake.script.append(Behaviour(purpose="fusion", document=invented))
    student, assessment = await llm.submit()
    result = await llm.result(student, assessment)
    assert len(llm.fake.fusion_requests()) == 2
    bundle = result["recommendations"]
    assert bundle["degraded"] is False
    assert "totally-made-up-cert" not in str(bundle)
    assert all(i["reasonShort"].startswith("Grounded reason") for i in bundle["items"])
    assert [u["completion_tokens"] > 0 for u in await llm.usage(assessment, "fusion")] == [
        True, True
    ]  # the refused answer still cost tokens, and is counted  # fmt: skip


async def test_a_failing_llm_leaves_template_explanations_marked_degraded(
    llm: LlmStack,
) -> None:
    llm.fake.script.extend([Behaviour(purpose="fusion", status=500)] * 3)
    student, assessment = await llm.submit()
    result = await llm.result(student, assessment)
    assert len(llm.fake.fusion_requests()) == 3
    bundle = result["recommendations"]
    assert bundle["degraded"] is True
    assert result["degraded"] is True
    assert len(bundle["items"]) >= 2
    assert all(TEMPLATE_REASON.match(i["reasonShort"]) for i in bundle["items"])
    assert not any(e["degraded"] for e in result["scores"]["essays"])  # essays were fine


async def test_embeddings_down_falls_back_to_the_lookup(llm: LlmStack) -> None:
    llm.fake.embeddings_status = 503
    student, assessment = await llm.submit()
    result = await llm.result(student, assessment)
    bundle = result["recommendations"]
    assert bundle["degraded"] is True
    assert len(bundle["items"]) >= 2
    assert all(t["score"] is None for i in bundle["items"] for t in i["ragTrace"])
