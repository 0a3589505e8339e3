"""A stage that keeps failing: FAILED with the reason, the failed webhook, and an admin retry
that recovers it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import audit_actions, rows, uuid_param
from tests.support.pipeline import RESULT, STATUS, submitted, wait_for_status
from tests.support.receiver import receiver
from tests.support.stacks import Server

RETRY = """
mutation Retry($id: ID!) {
  retryAssessment(assessmentId: $id) {
    assessment { id status } job { id type status } errors { code message }
  }
}"""
CREATE_HOOK = """
mutation Create($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id } errors { code } }
}"""


class BrokenScorer:
    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    async def score(self, tasks: Sequence[Any], **_: Any) -> list[Any]:
        self.calls += 1
        raise RuntimeError("the scoring service is down")


async def test_failing_stage_ends_failed_and_an_admin_retry_recovers(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    services = server.pipeline_services
    working, working_local = services.scorer, services.local_scorer
    broken = BrokenScorer()
    async with receiver() as target:
        hook = await client.data(
            CREATE_HOOK,
            {"input": {"url": target.url, "events": ["ASSESSMENT_FAILED", "ASSESSMENT_COMPLETED"]}},
            admin.token,
        )
        hook_id = hook["createWebhookEndpoint"]["endpoint"]["id"]
        try:
            # Both the pipeline's scorer and the per-essay jobs' one: nothing can score.
            services.scorer = services.local_scorer = broken
            student = await register_and_login(client)
            assessment = await submitted(client, student.token)
            progress = await wait_for_status(client, student.token, assessment["id"], {"FAILED"})
            assert broken.calls >= 5  # every try of the job, each counted
            states = {s["stage"]: s["state"] for s in progress["stages"]}
            assert states == {"RULE_SCORE": "DONE", "GPT_ESSAYS": "FAILED", "RAG": "PENDING",
                              "FUSION": "PENDING"}  # fmt: skip
            assert "essay scoring failed" in progress["message"]
            assert progress["retryAfterSeconds"] is None
            job = await rows(
                server,
                "SELECT status, last_error, attempts FROM jobs WHERE assessment_id = :a "
                "AND type = 'pipeline'",
                a=uuid_param(server, assessment["id"]),
            )
            assert job[0]["status"] == "failed"
            assert (
                "the scoring service is down" in job[0]["last_error"]
                or "essay" in job[0]["last_error"]
            )
            failed = await target.wait_for(assessment["id"], 1)
            assert json.loads(failed[0].body)["type"] == "assessment.failed"
            assert (await client.data(RESULT, {"id": assessment["id"]}, student.token)) == {
                "result": None
            }

            # Only admins retry, and only FAILED assessments.
            denied = await client.gql(RETRY, {"id": assessment["id"]}, student.token)
            assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            services.scorer, services.local_scorer = working, working_local
            retried = (await client.data(RETRY, {"id": assessment["id"]}, admin.token))[
                "retryAssessment"
            ]
            assert retried["errors"] == []
            assert retried["assessment"]["status"] == "QUEUED"
            assert retried["job"]["type"] == "pipeline"
            assert "assessment.retry" in await audit_actions(server, student.id)
            done = await wait_for_status(client, student.token, assessment["id"], {"DONE"})
            rule = next(s for s in done["stages"] if s["stage"] == "RULE_SCORE")
            assert rule["attempts"] == 1  # kept from the first run, not redone
            completed_hooks = [
                r for r in await target.wait_for(assessment["id"], 2)
                if json.loads(r.body)["type"] == "assessment.completed"
            ]  # fmt: skip
            assert len(completed_hooks) == 1
            again = (await client.data(RETRY, {"id": assessment["id"]}, admin.token))[
                "retryAssessment"
            ]
            assert [e["code"] for e in again["errors"]] == ["INVALID_STATE"]
        finally:
            services.scorer, services.local_scorer = working, working_local
            await client.data(
                "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { ok } }",
                {"id": hook_id},
                admin.token,
            )


async def test_status_of_a_draft_says_not_submitted(client: GraphQLClient) -> None:
    from tests.support.flows import start

    student = await register_and_login(client)
    assessment = await start(client, student.token)
    progress = (await client.data(STATUS, {"id": assessment["id"]}, student.token))[
        "assessmentStatus"
    ]
    assert progress["status"] == "DRAFT"
    assert progress["progress"] == 0
    assert progress["message"] == "Not submitted yet."
    assert all(s["state"] == "PENDING" for s in progress["stages"])
