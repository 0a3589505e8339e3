"""Re-scoring an assessment's essays (ADMIN), e.g. after a prompt or scorer fix.

The new scores are added to the history (every earlier score stays, with its prompt version);
the stored result's essay scores and skill profile are rebuilt from them. Recommendations are
left as they were: they were chosen for the student at the time. Each re-score is an LLM call
and counts against the assessment's call cap; past it, the local scorer stands in (degraded)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from db.repositories import assessments as assessments_repo
from db.repositories import essay_scores as essay_scores_repo
from db.repositories import jobs as jobs_repo
from db.tables import Assessment, Recommendation, Score
from db.types import utcnow
from domain import ids
from domain.essays import answer_hash
from domain.questions import QuestionType
from jobs.observability import metrics
from jobs.pipeline import essay_task, profile_from
from jobs.services import Services


async def rescore_essays(ctx: dict[str, Any], job: str) -> None:
    services: Services = ctx["services"]
    job_id = uuid.UUID(job)
    row = await services.claim_job(job_id, services.settings.job_lease_seconds)
    if row is None or row.assessment_id is None:
        return
    assessment_id = row.assessment_id
    async with services.db.read() as session:
        questions = (await assessments_repo.questions_for(session, [assessment_id]))[assessment_id]
        responses = (await assessments_repo.responses_for(session, [assessment_id]))[assessment_id]
    answers = {r.assessment_question_id: r.answer_text for r in responses if r.answer_text}
    essays = [q for q in questions if QuestionType(q.type) is QuestionType.ESSAY]
    answered = [q for q in essays if q.id in answers]
    results = await services.scorer.score(
        [essay_task(q, answers[q.id]) for q in answered],
        assessment_id=assessment_id,
        call_key=f"{job_id}:rescore:{ctx.get('job_try', 1)}",
    )
    by_question = dict(zip([q.id for q in answered], results, strict=True))
    async with services.db.transaction() as uow:
        for question, result in by_question.items():
            await essay_scores_repo.add(
                uow.session, assessment_id, question, answer_hash(answers[question]), result
            )
        score = (
            await uow.session.scalars(
                sa.select(Score).where(col(Score.assessment_id) == assessment_id)
            )
        ).first()
        if score is not None:
            items = _essay_items(essays, by_question)
            score.essay_scores_json = {"essays": items}
            score.profile_json = profile_from(
                score.theory_score_json.get("perItem", []), items,
                score.profile_signals_json.get("interests", []),
            ).as_dict()  # fmt: skip
            score.computed_at = utcnow()
            essays_degraded = any(item["degraded"] for item in items)
            recommendation = (
                await uow.session.scalars(
                    sa.select(Recommendation).where(
                        col(Recommendation.assessment_id) == assessment_id
                    )
                )
            ).first()
            degraded = essays_degraded or bool(recommendation and recommendation.degraded)
            await uow.session.execute(
                sa.update(Assessment).where(col(Assessment.id) == assessment_id)
                .values(degraded=degraded)
            )  # fmt: skip
        await jobs_repo.settle(uow.session, job_id, "done", utcnow())
    metrics().jobs.add(1, {"task": "rescore_essays", "event": "succeeded"})


def _essay_items(essays: list[Any], results: dict[uuid.UUID, Any]) -> list[dict[str, Any]]:
    items = []
    for question in essays:
        result = results.get(question.id)
        rubric = [{"name": c.name, "score": c.score} for c in result.criteria] if result else []
        items.append({
            "questionId": ids.encode(ids.Kind.ASSESSMENT_QUESTION, question.id),
            "domain": question.domain,
            "answered": result is not None,
            "score": result.score if result else 0.0,
            "rubric": rubric,
            "feedback": result.feedback if result else "No answer was given.",
            "scoredBy": result.scored_by if result else "local",
            "degraded": bool(result and result.degraded),
            "promptVersion": result.prompt_version if result else None,
        })  # fmt: skip
    return items
