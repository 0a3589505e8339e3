"""Recommendation feedback, pipeline metrics and the completion SLA."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import scalar
from tests.support.pipeline import RESULT, completed, submitted, wait_for_status
from tests.support.stacks import Server, StackConfig

FEEDBACK = """
mutation Feedback($input: RecommendationFeedbackInput!) {
  recordRecommendationFeedback(input: $input) {
    recommendation { id accepted rank } errors { field code message }
  }
}"""


async def test_owner_records_feedback_others_cannot(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    result = (await client.data(RESULT, {"id": assessment["id"]}, student.token))["result"]
    item = result["recommendations"]["items"][0]
    assert item["accepted"] is None
    body = await client.data(
        FEEDBACK, {"input": {"recommendationId": item["id"], "accepted": True,
                             "comment": "Exactly what I need"}},
        student.token,
    )  # fmt: skip
    assert body["recordRecommendationFeedback"]["errors"] == []
    assert body["recordRecommendationFeedback"]["recommendation"]["accepted"] is True
    changed = await client.data(
        FEEDBACK, {"input": {"recommendationId": item["id"], "accepted": False}}, student.token
    )
    assert changed["recordRecommendationFeedback"]["recommendation"]["accepted"] is False
    again = (await client.data(RESULT, {"id": assessment["id"]}, student.token))["result"]
    assert again["recommendations"]["items"][0]["accepted"] is False
    assert await scalar(server, "SELECT count(*) FROM recommendation_feedback WHERE comment = "
                        "'Exactly what I need'") == 0  # replaced, not added  # fmt: skip

    stranger = await register_and_login(client)
    refused = await client.data(
        FEEDBACK, {"input": {"recommendationId": item["id"], "accepted": True}}, stranger.token
    )
    assert [e["code"] for e in refused["recordRecommendationFeedback"]["errors"]] == ["NOT_FOUND"]
    too_long = await client.data(
        FEEDBACK, {"input": {"recommendationId": item["id"], "accepted": True,
                             "comment": "x" * 2001}},
        student.token,
    )  # fmt: skip
    assert [e["field"] for e in too_long["recordRecommendationFeedback"]["errors"]] == [
        ["input", "comment"]
    ]


async def test_pipeline_metrics_are_exported(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    await completed(client, student.token)
    text = (await client.http.get("/metrics")).text
    for name in (
        "jobs_total{",
        "pipeline_stage_duration_seconds_bucket{",
        "assessment_submit_to_done_seconds_bucket{",
        "queue_depth",
        "queue_oldest_job_age_seconds",
        "websocket_subscribers",
        "llm_spend_month_usd",
        "llm_budget_month_usd",
    ):
        assert name in text, name
    assert 'task="run_pipeline"' in text
    assert 'event="succeeded"' in text


async def test_assessments_past_the_sla_are_logged_and_counted_once(stack: StackConfig) -> None:
    from tests.support.worker import running_worker

    settings = stack.settings(
        pipeline_sla_seconds=1, chaos_stage_delay_seconds=0.6,
        redis_namespace=f"{stack.namespace}-sla",
    )  # fmt: skip
    running = Server(settings)
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        with _captured("jobs.sweeper") as records:
            if settings.redis_url:
                async with running_worker(settings):
                    await _slow_assessment(client)
            else:
                await _slow_assessment(client)
        late = [r for r in records if "exceeded the completion SLA" in r.getMessage()]
        assert len(late) == 1
        breached = await scalar(
            running, "SELECT count(*) FROM assessments WHERE sla_breached_at IS NOT NULL"
        )
        assert breached >= 1
    finally:
        await client.aclose()
        await running.stop()


async def _slow_assessment(client: GraphQLClient) -> None:
    student = await register_and_login(client)
    assessment = await submitted(client, student.token)
    await wait_for_status(client, student.token, assessment["id"], {"DONE"}, timeout=60)
    await asyncio.sleep(1.5)  # another sweep or two: the breach must be counted only once


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _captured(name: str) -> Iterator[list[logging.LogRecord]]:
    logger = logging.getLogger(name)
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
