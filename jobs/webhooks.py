"""Signed webhooks: one job per (endpoint, event), written in the transaction that finishes or
fails the assessment, delivered with retries and backoff, one delivery row per attempt.

Body: {id, type, createdAt, data: {assessmentId, userId, status, overallScore, band}}.
Headers: X-Webhook-Id (stable across retries), X-Webhook-Event, X-Webhook-Signature."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from arq import Retry

from db.database import UnitOfWork
from db.repositories import assessments as assessments_repo
from db.repositories import jobs as jobs_repo
from db.repositories import results as results_repo
from db.repositories import webhooks as webhooks_repo
from db.types import utcnow
from domain import ids
from domain.webhooks import host_of, sign
from jobs.checked_http import RefusedAddress as RefusedAddress  # re-exported: callers catch it here
from jobs.checked_http import checked_addresses
from jobs.dispatch import dispatch_after_commit
from jobs.observability import metrics
from jobs.retry import POLICIES
from jobs.services import Services

log = logging.getLogger(__name__)
POLICY = POLICIES["deliver_webhook"]
# Event ids are derived, not random: the same event of the same pipeline run always gets the
# same id, so a receiver can deduplicate whatever we resend.
_EVENT_NAMESPACE = uuid.UUID("6f1c2b8e-4a53-4d0e-9d5e-3c7f3f2a9b10")


async def queue_assessment_event(
    uow: UnitOfWork,
    services: Services,
    assessment_id: uuid.UUID,
    pipeline_job_id: uuid.UUID,
    event: str,
) -> None:
    """Inside the transaction that changes the status: one delivery job per subscribed endpoint,
    enqueued after commit."""
    session = uow.session
    endpoints = await webhooks_repo.subscribed(session, event)
    if not endpoints:
        return
    assessment = await assessments_repo.by_id(session, assessment_id)
    assert assessment is not None
    stored = (await results_repo.load(session, [assessment_id])).get(assessment_id)
    profile = stored.score.profile_json if stored else {}
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{pipeline_job_id}:{event}")
    body = {
        "id": str(event_id),
        "type": event,
        "createdAt": utcnow().isoformat(),
        "data": {
            "assessmentId": ids.encode(ids.Kind.ASSESSMENT, assessment_id),
            "userId": ids.encode(ids.Kind.USER, assessment.user_id),
            "status": event.split(".", 1)[1].upper(),
            "overallScore": profile.get("overall"),
            "band": str(profile["band"]).upper() if profile.get("band") else None,
        },
    }
    for endpoint in endpoints:
        job = await jobs_repo.add(
            session,
            "webhook",
            assessment_id,
            {"endpointId": str(endpoint.id), "eventId": str(event_id), "event": event,
             "body": body},
        )  # fmt: skip
        dispatch_after_commit(uow, services.queue, job)


async def check_destination(url: str, allow_private: bool) -> None:
    """Resolve the host and refuse private, loopback and link-local targets unless they are
    allowed: the check webhook creation makes. A delivery does not call it: its connection
    makes the same check on the addresses it then connects to (jobs/checked_http.py)."""
    if allow_private:
        return
    host = host_of(url)
    if host is None:
        raise RefusedAddress("the URL has no host")
    await checked_addresses(host, None)


async def deliver_webhook(ctx: dict[str, Any], job: str) -> None:
    services: Services = ctx["services"]
    attempt = int(ctx.get("job_try", 1))
    job_id = uuid.UUID(job)
    row = await services.claim_job(job_id, POLICY.timeout_seconds + 10)
    if row is None:
        return
    payload = row.payload_json
    endpoint_id = uuid.UUID(payload["endpointId"])
    async with services.db.read() as session:
        endpoint = await webhooks_repo.by_id(session, endpoint_id)
    if endpoint is None or not endpoint.active:
        await services.settle_job(job_id, "done", "endpoint deleted or inactive; not sent")
        return
    body = json.dumps(payload["body"], separators=(",", ":"), sort_keys=True).encode()
    status: int | None = None
    error: str | None = None
    try:
        # The SSRF check happens as the connection is made, on the addresses it connects to
        # (services.http is jobs/checked_http.py's client): resolving here first and letting the
        # client resolve again was a DNS-rebinding window.
        timestamp = int(time.time())
        response = await services.http.post(
            endpoint.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "microcred-assess-webhooks/1",
                "X-Webhook-Id": payload["eventId"],
                "X-Webhook-Event": payload["event"],
                "X-Webhook-Signature": sign(endpoint.secret, timestamp, body),
            },
            follow_redirects=False,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except RefusedAddress as exc:
        error = f"refused: {exc}"
    except Exception as exc:  # network errors, timeouts
        error = f"{type(exc).__name__}: {exc}"
    succeeded = error is None
    permanent = error is not None and error.startswith("refused:")
    async with services.db.transaction() as uow:
        await webhooks_repo.record_attempt(
            uow.session,
            endpoint_id=endpoint_id,
            event_id=uuid.UUID(payload["eventId"]),
            event_type=payload["event"],
            payload=payload["body"],
            attempt=attempt,
            status="succeeded" if succeeded else "failed",
            response_status=status,
            error=error,
            now=utcnow(),
        )
        final = succeeded or permanent or POLICY.is_last(attempt)
        await jobs_repo.settle(
            uow.session, job_id, "done" if succeeded else ("failed" if final else "queued"),
            utcnow(), error,
        )  # fmt: skip
    metrics().jobs.add(
        1, {"task": "deliver_webhook", "event": "succeeded" if succeeded else "failed"}
    )
    if not final:
        raise Retry(defer=POLICY.delay(attempt) * services.settings.retry_delay_scale)
