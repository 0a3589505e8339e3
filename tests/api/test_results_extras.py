"""Recommendation feedback, pipeline metrics and the completion SLA."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import scalar, uuid_param
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
    """Decided by order, not by a race with the clock: the pipeline is slowed to at least
    4 x 0.6 s, so after a 1.2 s wait (a lower bound, whatever the load) the assessment is past
    its 1 s SLA and still running when the sweeps below look at it. Every other sweeper on the
    shared database (this stack's own worker, other SLAs) logs to the same logger about other
    assessments: only this assessment's records count."""
    from jobs.sweeper import sweep
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
            async with AsyncExitStack() as workers:
                if settings.redis_url:
                    await workers.enter_async_context(running_worker(settings))
                student = await register_and_login(client)
                assessment = await submitted(client, student.token)
                await asyncio.sleep(1.2)
                # Two sweeps of our own beside the scheduled ones: the second must not count
                # the breach again.
                for _ in range(2):
                    await sweep({"services": running.services})
                status = await wait_for_status(
                    client, student.token, assessment["id"], {"DONE"}, timeout=60
                )
                assert status["status"] == "DONE"
                for _ in range(2):
                    await sweep({"services": running.services})
        key = str(uuid.UUID(hex=str(uuid_param(running, assessment["id"])).replace("-", "")))
        late = [
            r
            for r in records
            if "exceeded the completion SLA" in r.getMessage()
            and getattr(r, "assessment", None) == key
        ]
        assert len(late) == 1, [r.__dict__.get("assessment") for r in records]
        breached = await scalar(
            running,
            "SELECT count(*) FROM assessments WHERE id = :id AND sla_breached_at IS NOT NULL",
            id=uuid_param(running, assessment["id"]),
        )
        assert breached == 1
    finally:
        await client.aclose()
        await running.stop()


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
