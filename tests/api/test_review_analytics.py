"""`analytics.scoringAgreement`: machine vs human over every override, on a small known set
(a stack of its own, so no other test's overrides are counted)."""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.client import register_and_login
from tests.support.llm_stack import LlmStack, llm_stack
from tests.support.stacks import selected_stacks

ESSAYS = """query R($id: ID!) { result(assessmentId: $id) { scores { essays {
  essayScoreId machineScore localScore scoredBy } } } }"""
OVERRIDE = """mutation O($input: OverrideEssayScoreInput!) { overrideEssayScore(input: $input) {
  errors { code } } }"""
AGREEMENT = (
    """{ analytics { scoringAgreement { scorer count meanAbsoluteDifference pearsonR } } }"""
)


@pytest.fixture(scope="module", params=selected_stacks())
async def llm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LlmStack]:
    async with llm_stack(request.param, tmp_path_factory.mktemp(f"ra-{request.param}")) as stack:
        yield stack


def _expected(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    humans, machines = [h for h, _ in pairs], [m for _, m in pairs]
    varies = len(pairs) >= 2 and len(set(humans)) > 1 and len(set(machines)) > 1
    return {
        "count": len(pairs),
        "meanAbsoluteDifference": (
            statistics.fmean(abs(h - m) for h, m in pairs) if pairs else None
        ),
        "pearsonR": statistics.correlation(humans, machines) if varies else None,
    }


async def test_agreement_over_all_overrides_per_scorer(llm: LlmStack) -> None:
    admin = await register_and_login(llm.client, role="ADMIN")
    empty = (await llm.client.data(AGREEMENT, token=admin.token))["analytics"]
    assert empty["scoringAgreement"] == [
        {"scorer": "LLM", "count": 0, "meanAbsoluteDifference": None, "pearsonR": None},
        {"scorer": "LOCAL", "count": 0, "meanAbsoluteDifference": None, "pearsonR": None},
    ]
    llm_pairs: list[tuple[float, float]] = []
    local_pairs: list[tuple[float, float]] = []
    for grade, human in ((0.2, 0.3), (0.5, 0.6), (0.9, 1.0)):
        llm.fake.grade = grade
        student, assessment = await llm.submit()
        await llm.result(student, assessment)
        body = await llm.client.data(ESSAYS, {"id": assessment["id"]}, student.token)
        essay = body["result"]["scores"]["essays"][0]
        assert essay["scoredBy"] == "LLM"
        if grade == 0.5:
            # Overridden twice: only the newest human score counts.
            first = {"essayScoreId": essay["essayScoreId"], "score": 0.0, "reason": "First."}
            done = await llm.client.data(OVERRIDE, {"input": first}, admin.token)
            assert done["overrideEssayScore"]["errors"] == []
        change = {"essayScoreId": essay["essayScoreId"], "score": human, "reason": "Reviewed."}
        done = await llm.client.data(OVERRIDE, {"input": change}, admin.token)
        assert done["overrideEssayScore"]["errors"] == []
        llm_pairs.append((human, essay["machineScore"]))
        if essay["localScore"] is not None:
            local_pairs.append((human, essay["localScore"]))

    figures = (await llm.client.data(AGREEMENT, token=admin.token))["analytics"]
    by_scorer = {f.pop("scorer"): f for f in figures["scoringAgreement"]}
    assert by_scorer.keys() == {"LLM", "LOCAL"}
    for scorer, pairs in (("LLM", llm_pairs), ("LOCAL", local_pairs)):
        expected = _expected(pairs)
        got = by_scorer[scorer]
        assert got["count"] == expected["count"]
        for name in ("meanAbsoluteDifference", "pearsonR"):
            if expected[name] is None:
                assert got[name] is None, (scorer, name)
            else:
                assert got[name] == pytest.approx(expected[name]), (scorer, name)
    # The LLM graded 0.2, 0.5 and 0.9 and the humans 0.3, 0.6 and 1.0 (unless the local
    # scorer flagged an essay and capped the LLM's grade): 0.1 apart, perfectly correlated.
    if [m for _, m in llm_pairs] == pytest.approx([0.2, 0.5, 0.9]):
        assert by_scorer["LLM"]["meanAbsoluteDifference"] == pytest.approx(0.1)
        assert by_scorer["LLM"]["pearsonR"] == pytest.approx(1.0)

    student = await register_and_login(llm.client)
    denied = await llm.client.gql(AGREEMENT, token=student.token)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
