"""Rebuilding a DONE assessment's result from its essay scores: after an admin's re-score
(the essays are scored again first), or after a human override of one essay score (nothing is
scored again; the override replaces that machine score).

Every score stays in the history (essay_scores keeps each machine score with its prompt
version; essay_score_overrides each human one). The stored result's essays and skill profile are
rebuilt from the newest score of each essay and its newest override. After an override the
recommendations are chosen again too (the pipeline's RAG and FUSION stages, run on the new
profile); after a plain re-score they are left as they were chosen for the student at the time.
Either way the result changed: subscribers get a fresh progress event and webhooks
`assessment.rescored`.

Job guarantees are the pipeline's: the jobs row is claimed and its lease renewed while the
task works, a failure is retried with backoff (the row is re-queued, the sweeper recovers it if
the queue lost it), and a run that repeats rebuilds the same result from the same rows. Each
re-score is an LLM call and counts against the assessment's call cap; past it, the local scorer
stands in (degraded)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from arq import Retry
from sqlmodel import col

from db.repositories import assessments as assessments_repo
from db.repositories import essay_scores as essay_scores_repo
from db.repositories import item_stats as item_stats_repo
from db.repositories import jobs as jobs_repo
from db.repositories import questions as questions_repo
from db.repositories import results as results_repo
from db.tables import Assessment, AssessmentQuestion, Job, Recommendation, Score
from db.types import utcnow
from domain.essays import EssayResult, answer_hash
from domain.item_stats import contributions
from domain.progress import Stage
from domain.questions import QuestionType
from jobs import events
from jobs.observability import metrics
from jobs.pipeline import (
    Run,
    essay_items,
    essay_task,
    fusion,
    holding_lease,
    profile_from,
    rag,
    scored_items,
)
from jobs.retry import POLICIES
from jobs.services import Services
from jobs.webhooks import queue_assessment_event

POLICY = POLICIES["rescore_essays"]


class _Moved(Exception):
    """Another override landed while this run chose recommendations: run again on it."""


async def rescore_essays(ctx: dict[str, Any], job: str) -> None:
    services: Services = ctx["services"]
    attempt = int(ctx.get("job_try", 1))
    job_id = uuid.UUID(job)
    row = await services.claim_job(job_id, services.settings.job_lease_seconds)
    if row is None or row.assessment_id is None:
        return
    try:
        async with holding_lease(services, job_id):
            changed = await _rebuild(services, row, attempt)
    except Exception as exc:
        if POLICY.is_last(attempt):
            await services.settle_job(job_id, "failed", f"{type(exc).__name__}: {exc}")
            metrics().jobs.add(1, {"task": "rescore_essays", "event": "failed"})
            return
        await services.settle_job(job_id, "queued", f"{type(exc).__name__}: {exc}")
        metrics().jobs.add(1, {"task": "rescore_essays", "event": "retried"})
        raise Retry(defer=POLICY.delay(attempt) * services.settings.retry_delay_scale) from exc
    if changed:
        await events.publish(services, row.assessment_id)
    metrics().jobs.add(1, {"task": "rescore_essays", "event": "succeeded"})


async def _rebuild(services: Services, job: Job, attempt: int) -> bool:
    """True when a stored result was rebuilt."""
    assert job.assessment_id is not None
    assessment_id, job_id = job.assessment_id, job.id
    # Set by overrideEssayScore: the essays keep their machine scores, the picks are redone.
    after_override = bool(job.payload_json.get("override"))
    async with services.db.read() as session:
        assessment = await assessments_repo.by_id(session, assessment_id)
        questions = (await assessments_repo.questions_for(session, [assessment_id]))[assessment_id]
        responses = (await assessments_repo.responses_for(session, [assessment_id]))[assessment_id]
        bank = await questions_repo.essay_references(session)
    if assessment is None:
        await services.settle_job(job_id, "done")
        return False
    answers = {r.assessment_question_id: r.answer_text for r in responses if r.answer_text}
    essays = [q for q in questions if QuestionType(q.type) is QuestionType.ESSAY]
    answered = {q.id: answers[q.id] or "" for q in essays if q.id in answers}
    fresh: dict[uuid.UUID, EssayResult] = {}
    if not after_override:
        tasks = [essay_task(q, answered[q.id], bank) for q in essays if q.id in answered]
        results = await services.scorer.score(
            tasks, assessment_id=assessment_id, call_key=f"{job_id}:rescore:{attempt}"
        )
        fresh = dict(zip([q.id for q in essays if q.id in answered], results, strict=True))
    picks: dict[str, Any] | None = None
    if after_override:
        async with services.db.read() as session:
            items = await _current_items(session, essays, answered)
            score = await _score_of(session, assessment_id)
        if score is None:
            await services.settle_job(job_id, "done")
            return False
        picks = await _recommend(services, assessment, questions, score, items, job_id)
    async with services.db.transaction() as uow:
        session = uow.session
        await assessments_repo.by_id_for_update(session, assessment_id)
        for question_id, result in fresh.items():
            await essay_scores_repo.add(
                session, assessment_id, question_id, answer_hash(answered[question_id]), result,
                services.settings.essay_review_threshold,
            )  # fmt: skip
        items = await _current_items(session, essays, answered)
        if picks is not None and picks["essays"] != items:
            raise _Moved("the essays changed while recommendations were chosen")
        score = await _score_of(session, assessment_id)
        recommendation = (
            await session.scalars(
                sa.select(Recommendation).where(col(Recommendation.assessment_id) == assessment_id)
            )
        ).first()
        if score is not None:
            score.essay_scores_json = {"essays": items}
            score.profile_json = picks["profile"] if picks is not None else _profile(score, items)
            score.computed_at = utcnow()
            # Replaces what this result added to the item statistics: never counted twice
            # (and never at all for an admin's custom try-out).
            if not assessment.custom:
                await item_stats_repo.record(
                    session, assessment_id,
                    contributions(scored_items(
                        questions, {r.assessment_question_id: r for r in responses},
                        score.theory_score_json.get("perItem", []), items,
                    )),
                )  # fmt: skip
            if picks is not None and recommendation is not None:
                await results_repo.replace_recommendation(
                    session, recommendation, summary=picks["summary"],
                    degraded=picks["degraded"], items=picks["items"], now=utcnow(),
                )  # fmt: skip
            degraded = any(item["degraded"] for item in items) or bool(
                recommendation and recommendation.degraded
            )
            await session.execute(
                sa.update(Assessment).where(col(Assessment.id) == assessment_id)
                .values(degraded=degraded)
            )  # fmt: skip
            await queue_assessment_event(
                uow, services, assessment_id, job_id, "assessment.rescored"
            )
        await jobs_repo.settle(session, job_id, "done", utcnow())
    return score is not None


async def _current_items(
    session: Any, essays: list[AssessmentQuestion], answered: dict[uuid.UUID, str]
) -> list[dict[str, Any]]:
    """The result's essays from the newest score of each answer (any scorer) and its override."""
    latest = await essay_scores_repo.latest_for(session, list(answered))
    chosen = {q: latest.get((q, answer_hash(text))) for q, text in answered.items()}
    overrides = await essay_scores_repo.overrides_for(
        session, [row.id for row in chosen.values() if row is not None]
    )
    return essay_items(essays, answered, chosen, overrides)


async def _score_of(session: Any, assessment_id: uuid.UUID) -> Score | None:
    found: Score | None = (
        await session.scalars(sa.select(Score).where(col(Score.assessment_id) == assessment_id))
    ).first()
    return found


def _profile(score: Score, items: list[dict[str, Any]]) -> dict[str, Any]:
    return profile_from(
        score.theory_score_json.get("perItem", []), items,
        score.profile_signals_json.get("interests", []),
    ).as_dict()  # fmt: skip


async def _recommend(
    services: Services,
    assessment: Assessment,
    questions: list[AssessmentQuestion],
    score: Score,
    items: list[dict[str, Any]],
    job_id: uuid.UUID,
) -> dict[str, Any]:
    """The pipeline's RAG and FUSION stages again, on the rebuilt profile (outside any
    transaction: they may call the LLM and the vector store)."""
    run = Run(services, assessment, questions, {}, job_id)
    run.outputs[Stage.RULE_SCORE] = {
        "theory": score.theory_score_json,
        "interests": score.profile_signals_json.get("interests", []),
    }
    run.outputs[Stage.GPT_ESSAYS] = {"essays": items}
    run.outputs[Stage.RAG] = await rag(run)
    fused = await fusion(run)
    return {
        "essays": items,
        "profile": run.outputs[Stage.RAG]["profile"],
        "summary": fused["summary"],
        "degraded": bool(fused["degraded"] or run.outputs[Stage.RAG]["degraded"]),
        "items": [
            results_repo.ItemToStore(
                uuid.UUID(item["credentialId"]), item["rank"], item["reason"], item["fit"],
                item["traces"],
            )
            for item in fused["items"]
        ],
    }  # fmt: skip
