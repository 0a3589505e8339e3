"""ADMIN analytics: every figure checked against the rows it summarises."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from db.repositories import llm_usage
from db.tables import Assessment, Job, RecommendationFeedback
from tests.support.client import GraphQLClient, register_and_login
from tests.support.pipeline import RESULT, completed
from tests.support.stacks import Server

ANALYTICS = """
query Analytics($days: Int) {
  analytics(days: $days) {
    windowDays assessmentsCompleted completionLatencyP50Seconds completionLatencyP95Seconds
    degradedRate ragRelevanceP50 ragRelevanceP95 acceptanceRate
    llmSpendThisMonthUsd llmBudgetMonthUsd
    queue { depth oldestAgeSeconds failedLast24h }
  }
}"""
FEEDBACK = """
mutation Feedback($input: RecommendationFeedbackInput!) {
  recordRecommendationFeedback(input: $input) { errors { code } }
}"""


async def _expected(server: Server, days: int) -> dict[str, Any]:
    """The figures recomputed from the tables, independently of the resolver's code."""
    since = datetime.now(UTC) - timedelta(days=days)
    async with server.services.db.read() as session:
        done = (
            await session.execute(
                sa.select(Assessment).where(
                    col(Assessment.status) == "done", col(Assessment.completed_at) >= since
                )
            )
        ).scalars().all()  # fmt: skip
        feedback = (
            await session.execute(
                sa.select(col(RecommendationFeedback.accepted)).where(
                    col(RecommendationFeedback.updated_at) >= since
                )
            )
        ).scalars().all()  # fmt: skip
        failed = await session.scalar(
            sa.select(sa.func.count()).where(
                col(Job.status) == "failed",
                col(Job.finished_at) >= datetime.now(UTC) - timedelta(hours=24),
            )
        )
    latencies = [
        (a.completed_at - a.submitted_at).total_seconds()
        for a in done
        if a.completed_at and a.submitted_at
    ]
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else []
    return {
        "assessmentsCompleted": len(done),
        "p50": cuts[49] if cuts else None,
        "p95": cuts[94] if cuts else None,
        "degradedRate": sum(a.degraded for a in done) / len(done) if done else None,
        "acceptanceRate": sum(feedback) / len(feedback) if feedback else None,
        "failedLast24h": failed,
    }


async def test_analytics_match_the_stored_rows(client: GraphQLClient, server: Server) -> None:
    admin = await register_and_login(client, role="ADMIN")
    student = await register_and_login(client)
    first = await completed(client, student.token)
    await completed(client, student.token)
    result = (await client.data(RESULT, {"id": first["id"]}, student.token))["result"]
    items = result["recommendations"]["items"]
    for item, accepted in zip(items[:2], (True, False), strict=False):
        body = await client.data(
            FEEDBACK, {"input": {"recommendationId": item["id"], "accepted": accepted}},
            student.token,
        )  # fmt: skip
        assert body["recordRecommendationFeedback"]["errors"] == []

    figures = (await client.data(ANALYTICS, {"days": 30}, admin.token))["analytics"]
    expected = await _expected(server, 30)
    assert figures["windowDays"] == 30
    assert figures["assessmentsCompleted"] == expected["assessmentsCompleted"] >= 2
    assert figures["completionLatencyP50Seconds"] == pytest.approx(expected["p50"])
    assert figures["completionLatencyP95Seconds"] == pytest.approx(expected["p95"])
    assert figures["completionLatencyP50Seconds"] <= figures["completionLatencyP95Seconds"]
    assert figures["degradedRate"] == pytest.approx(expected["degradedRate"])
    assert figures["acceptanceRate"] == pytest.approx(expected["acceptanceRate"])
    assert 0 < figures["acceptanceRate"] < 1
    assert figures["queue"]["failedLast24h"] == expected["failedLast24h"]
    assert figures["queue"]["depth"] >= 0
    assert figures["queue"]["oldestAgeSeconds"] >= 0


async def test_spend_and_budget_follow_llm_usage(client: GraphQLClient, server: Server) -> None:
    admin = await register_and_login(client, role="ADMIN")
    before = (await client.data(ANALYTICS, {}, admin.token))["analytics"]
    assert before["windowDays"] == 30  # the default window
    assert before["llmBudgetMonthUsd"] == server.settings.llm_monthly_budget_usd
    key = f"test:analytics:{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    async with server.services.db.transaction() as uow:
        await llm_usage.record(
            uow.session, call_key=key, assessment_id=None, purpose="test", model="gpt-4o-mini",
            prompt_tokens=1000, completion_tokens=100, cost_usd=0.25,
            month=now.strftime("%Y-%m"), now=now,
        )  # fmt: skip
    try:
        after = (await client.data(ANALYTICS, {}, admin.token))["analytics"]
        assert after["llmSpendThisMonthUsd"] == pytest.approx(before["llmSpendThisMonthUsd"] + 0.25)
    finally:
        async with server.services.db.engine.begin() as connection:
            await connection.execute(
                sa.text("DELETE FROM llm_usage WHERE call_key = :key"), {"key": key}
            )


async def test_analytics_is_for_admins_with_a_sane_window(client: GraphQLClient) -> None:
    for role in ("STUDENT", "ADVISOR"):
        account = await register_and_login(client, role=role)
        denied = await client.gql(ANALYTICS, {}, account.token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await client.gql(ANALYTICS, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    admin = await register_and_login(client, role="ADMIN")
    for days in (0, -1, 367):
        refused = await client.gql(ANALYTICS, {"days": days}, admin.token)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
