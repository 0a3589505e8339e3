"""Driving assessments through the pipeline in tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.flows import SUBMIT, answer_all, start

STATUS = """
query Status($id: ID!) {
  assessmentStatus(assessmentId: $id) {
    assessmentId status progress degraded retryAfterSeconds message at
    stages { stage state attempts startedAt finishedAt }
  }
}
"""
RESULT_FIELDS = """
assessmentId degraded generatedAt
scores {
  theoretical { correct total perItem }
  essays { questionId score rubric { name score } feedback scoredBy degraded }
  profile { area level value }
}
profile {
  assessmentId overallScore band strengths improvements
  domains { domain score itemCount confidence }
  confidence { level standardError interval reasons }
  interests { area level value }
}
recommendations {
  assessmentId summary degraded generatedAt
  items {
    id rank reasonShort fitScore accepted
    credential { id slug title provider url level domains tags active }
    ragTrace { source snippet url score }
  }
}
"""
RESULT = f"query Result($id: ID!) {{ result(assessmentId: $id) {{ {RESULT_FIELDS} }} }}"


async def wait_for_status(
    client: GraphQLClient, token: str, assessment_id: str, wanted: set[str], timeout: float = 240
) -> dict[str, Any]:
    """A hang guard, not a timing claim: idle, an assessment is DONE in about a second, but on
    a loaded machine the local scorer's essay stage alone has taken over a minute."""
    deadline = time.monotonic() + timeout
    while True:
        body = await client.data(STATUS, {"id": assessment_id}, token)
        progress = body["assessmentStatus"]
        if progress["status"] in wanted:
            return progress  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"still {progress['status']} after {timeout}s: {progress}")
        await asyncio.sleep(0.1)


async def submitted(client: GraphQLClient, token: str, track: str = "general") -> dict[str, Any]:
    assessment = await start(client, token, track)
    await answer_all(client, token, assessment)
    body = await client.data(SUBMIT, {"input": {"assessmentId": assessment["id"]}}, token)
    assert body["submitAssessment"]["errors"] == [], body
    return assessment


async def completed(client: GraphQLClient, token: str, track: str = "general") -> dict[str, Any]:
    assessment = await submitted(client, token, track)
    await wait_for_status(client, token, assessment["id"], {"DONE"})
    return assessment
