"""Periodic housekeeping, safe to run on several workers at once (every change is a
compare-and-set):

- re-enqueue jobs the queue lost (Redis flushed or restarted without persistence) and jobs whose
  worker died (lease ran out), so nothing submitted is ever lost;
- expire drafts past their expiry;
- log and count assessments past the completion SLA (NFR3), once each;
- sample queue depth and the age of the oldest waiting job for /metrics;
- once an hour, delete rows past their retention (db/repositories/retention.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from db.repositories import assessments as assessments_repo
from db.repositories import jobs as jobs_repo
from db.repositories import retention
from db.tables import Assessment
from db.types import utcnow
from jobs.dispatch import dispatch
from jobs.observability import metrics
from jobs.queue_stats import queue_snapshot
from jobs.rag_index import ensure_index_current
from jobs.services import Services

log = logging.getLogger(__name__)
MAX_RECOVERIES = 5
RETENTION_EVERY = timedelta(hours=1)
# When this process last purged: retention is cheap but needs no 10-second cadence. Several
# workers purging at once only delete the same rows once.
_last_purge: dict[str, Any] = {}


async def give_up(services: Services, job: Any, reason: str) -> None:
    from jobs.pipeline import fail_assessment

    log.error("job abandoned", extra={"job": str(job.id), "type": job.type, "reason": reason})
    if job.type == "pipeline" and job.assessment_id is not None:
        await fail_assessment(services, job.assessment_id, job.id, reason)
        return
    async with services.db.transaction() as uow:
        await jobs_repo.settle(uow.session, job.id, "failed", utcnow(), reason)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    services: Services = ctx["services"]
    settings = services.settings
    now = utcnow()
    recovered = 0
    async with services.db.read() as session:
        candidates = await jobs_repo.lost_candidates(session, now, settings.requeue_grace_seconds)
    for job in candidates:
        arq_id = str(job.id)
        if job.status == "queued" and await services.queue.is_known(arq_id):
            continue  # waiting or deferred: not lost
        if job.recoveries >= MAX_RECOVERIES:
            # Lost or crashed this often: something about the job itself is wrong (a poison
            # job). Stop re-enqueueing, and let the assessment fail visibly.
            await give_up(services, job, f"gave up after {job.recoveries} recoveries")
            continue
        async with services.db.transaction() as uow:
            count = await jobs_repo.take_for_recovery(uow.session, job, now)
        if count is None:
            continue  # another sweeper took it
        # A dead worker's arq job may still be marked in progress: a new arq id gets it run
        # now, and the lease claim keeps the two runs from overlapping.
        recovery_id = arq_id if job.status == "queued" else f"{arq_id}:r{count}"
        await dispatch(services.queue, job.id, job.type, arq_id=recovery_id)
        recovered += 1
        log.warning(
            "re-enqueued a lost job", extra={"job": arq_id, "type": job.type, "was": job.status}
        )
    async with services.db.transaction() as uow:
        expired = await assessments_repo.expire_drafts(uow.session, now)
        late = await _mark_sla_breaches(uow.session, now, settings.pipeline_sla_seconds)
    for assessment_id in late:
        metrics().sla_breaches.add(1)
        log.warning(
            "assessment exceeded the completion SLA",
            extra={"assessment": str(assessment_id), "sla_seconds": settings.pipeline_sla_seconds},
        )
    purged = await purge_if_due(services, now)
    index_requested = await ensure_index_current(services)
    await sample_queue(services)
    return {
        "recovered": recovered, "expired": expired, "late": len(late),
        "index_requested": int(index_requested), "purged": purged,
    }  # fmt: skip


async def purge_if_due(services: Services, now: Any, *, force: bool = False) -> int:
    last = _last_purge.get("at")
    if not force and last is not None and now - last < RETENTION_EVERY:
        return 0
    _last_purge["at"] = now
    settings = services.settings
    policy = retention.RetentionPolicy(
        audit_days=settings.audit_retention_days,
        webhook_delivery_days=settings.webhook_delivery_retention_days,
    )
    async with services.db.transaction() as uow:
        counts = await retention.purge(uow.session, now, policy)
    if any(counts.values()):
        log.info("purged rows past their retention", extra={"purged": counts})
    return sum(counts.values())


async def _mark_sla_breaches(session: Any, now: Any, sla_seconds: int) -> list[Any]:
    rows = await session.execute(
        sa.update(Assessment)
        .where(
            col(Assessment.status).in_(["queued", "processing"]),
            col(Assessment.submitted_at) < now - timedelta(seconds=sla_seconds),
            col(Assessment.sla_breached_at).is_(None),
        )
        .values(sla_breached_at=now)
        .returning(col(Assessment.id))
    )
    return list(rows.scalars())


async def sample_queue(services: Services) -> tuple[int, float]:
    snapshot = await queue_snapshot(services)
    metrics().queue_depth.set(snapshot.depth)
    metrics().oldest_job_age.set(snapshot.oldest_age_seconds)
    metrics().llm_spend_month.set(await services.llm.spent_this_month())
    metrics().llm_budget.set(services.settings.llm_monthly_budget_usd)
    return snapshot.depth, snapshot.oldest_age_seconds


async def run_periodically(services: Services, full_sweep: bool) -> None:
    """In the API process: the whole sweep when jobs run in-process (no worker exists), only the
    queue sampling for /metrics when arq workers do the sweeping."""
    with contextlib.suppress(Exception):
        await sample_queue(services)  # so the queue gauges exist from the first scrape
    while True:
        await asyncio.sleep(services.settings.sweep_interval_seconds)
        try:
            if full_sweep:
                await sweep({"services": services})
            else:
                await sample_queue(services)
        except Exception:
            log.warning("periodic sweep failed", exc_info=True)
