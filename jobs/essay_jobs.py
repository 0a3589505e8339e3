"""Scoring one essay right after it is answered with the local scorer, so the pipeline mostly
finds it done. (With an LLM, essays are scored together in one call at submit instead, and
these jobs are not created: see resolvers/assessments.py.)"""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry

from db.repositories import assessments as assessments_repo
from db.repositories import essay_scores as essay_scores_repo
from db.repositories import jobs as jobs_repo
from db.repositories import questions as questions_repo
from db.tables import Response
from db.types import utcnow
from domain.essays import answer_hash
from jobs.observability import metrics
from jobs.pipeline import essay_task
from jobs.retry import POLICIES
from jobs.services import Services

POLICY = POLICIES["score_essay"]


async def score_essay(ctx: dict[str, Any], job: str) -> None:
    services: Services = ctx["services"]
    attempt = int(ctx.get("job_try", 1))
    job_id = uuid.UUID(job)
    row = await services.claim_job(job_id, POLICY.timeout_seconds + 10)
    if row is None or row.assessment_id is None:
        return
    question_id = uuid.UUID(row.payload_json["assessmentQuestionId"])
    async with services.db.read() as session:
        question = await assessments_repo.question_by_id(session, question_id)
        responses = await assessments_repo.responses_for(session, [row.assessment_id])
        response: Response | None = next(
            (r for r in responses[row.assessment_id] if r.assessment_question_id == question_id),
            None,
        )
        text = response.answer_text if response else None
        bank = await questions_repo.essay_references(session)
        done = (
            await essay_scores_repo.latest_for(session, [question_id], "local")
            if text is not None
            else {}
        )
    # Nothing to do if the answer is gone, or this exact answer is scored already (a re-answer
    # has its own job; the pipeline scores whatever is missing at submit).
    if question is None or text is None or (question_id, answer_hash(text)) in done:
        await services.settle_job(job_id, "done")
        return
    try:
        [result] = await services.local_scorer.score(
            [essay_task(question, text, bank)],
            assessment_id=row.assessment_id,
            call_key=f"{job_id}:essay",
        )
    except Exception as exc:
        if POLICY.is_last(attempt):
            # The pipeline scores it at submit time; no need to fail anything here.
            await services.settle_job(job_id, "failed", str(exc))
            return
        await services.settle_job(job_id, "queued", str(exc))
        metrics().jobs.add(1, {"task": "score_essay", "event": "retried"})
        raise Retry(defer=POLICY.delay(attempt) * services.settings.retry_delay_scale) from exc
    async with services.db.transaction() as uow:
        # The pipeline may have scored this answer meanwhile: see gpt_essays (same lock).
        await assessments_repo.by_id_for_update(uow.session, row.assessment_id)
        written = await essay_scores_repo.latest_for(uow.session, [question_id], "local")
        if (question_id, answer_hash(text)) not in written:
            await essay_scores_repo.add(
                uow.session,
                row.assessment_id,
                question_id,
                answer_hash(text),
                result,
                services.settings.essay_review_threshold,
            )
        await jobs_repo.settle(uow.session, job_id, "done", utcnow())
    metrics().jobs.add(1, {"task": "score_essay", "event": "succeeded"})
