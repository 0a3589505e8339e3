"""The scoring pipeline of one assessment: RULE_SCORE -> GPT_ESSAYS -> RAG -> FUSION.

Runs as one job (one queue hop from submit to done). Each stage records its state, attempts,
times and output, and publishes progress. A stage that is DONE is never run again, so a job that
runs twice (a retry, a crashed worker's job picked up again) continues where the first stopped
and stores the same result. The final results, DONE and the webhook jobs are written in one
transaction guarded by a compare-and-set on the status: whatever runs twice, they happen once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arq import Retry

from db.repositories import assessments as assessments_repo
from db.repositories import essay_scores as essay_scores_repo
from db.repositories import item_stats as item_stats_repo
from db.repositories import jobs as jobs_repo
from db.repositories import questions as questions_repo
from db.repositories import results as results_repo
from db.repositories import stages as stages_repo
from db.tables import Assessment, AssessmentQuestion, EssayScore, EssayScoreOverride, Response
from db.types import utcnow
from domain import ids
from domain.catalog import Level as CredentialLevel
from domain.essay_flags import parse_flags
from domain.essays import EssayResult, EssayTask, OtherQuestion, answer_hash
from domain.item_stats import ScoredItem, contributions
from domain.lifecycle import Status
from domain.profile import InterestAnswer, ItemScore, SkillProfile, build_profile
from domain.progress import STAGES, Stage, StageState, StageView, progress_of
from domain.questions import DEFAULT_RUBRIC, Criterion, QuestionType
from domain.recommend import Candidate, Evidence, Pick
from jobs import events
from jobs.interests import stated_interests
from jobs.observability import metrics
from jobs.recommender import evidence_of
from jobs.retry import POLICIES
from jobs.services import Services
from jobs.webhooks import queue_assessment_event

log = logging.getLogger(__name__)
POLICY = POLICIES["run_pipeline"]


class StageError(Exception):
    """A stage could not finish this time; the job is retried with backoff."""


@dataclass
class Run:
    services: Services
    assessment: Assessment
    questions: list[AssessmentQuestion]
    responses: dict[uuid.UUID, Response]
    job_id: uuid.UUID
    outputs: dict[Stage, dict[str, Any]] = field(default_factory=dict)
    views: dict[Stage, StageView] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return ids.encode(ids.Kind.ASSESSMENT, self.assessment.id)


# ---------------------------------------------------------------- the task


async def run_pipeline(ctx: dict[str, Any], job: str) -> None:
    services: Services = ctx["services"]
    attempt = int(ctx.get("job_try", 1))
    job_id = uuid.UUID(job)
    claimed = await services.claim_job(job_id, services.settings.job_lease_seconds)
    if claimed is None or claimed.assessment_id is None:
        return  # done already, or another worker holds it
    metrics().jobs.add(1, {"task": "run_pipeline", "event": "started"})
    assessment_id = claimed.assessment_id
    try:
        async with holding_lease(services, job_id):
            run = await _load(services, assessment_id, job_id)
            if run is None:
                await services.settle_job(job_id, "done")
                return
            await _run_stages(run)
            await _finish(run)
        metrics().jobs.add(1, {"task": "run_pipeline", "event": "succeeded"})
    except StageError as exc:
        if POLICY.is_last(attempt):
            await fail_assessment(services, assessment_id, job_id, str(exc))
            return
        metrics().jobs.add(1, {"task": "run_pipeline", "event": "retried"})
        await services.settle_job(job_id, "queued", str(exc))
        raise Retry(defer=POLICY.delay(attempt) * services.settings.retry_delay_scale) from exc


@contextlib.asynccontextmanager
async def holding_lease(services: Services, job_id: uuid.UUID) -> AsyncIterator[None]:
    """Renew the job's lease while this run works, so the sweeper knows it is alive."""
    lease = services.settings.job_lease_seconds

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease / 3)
            with contextlib.suppress(Exception):
                async with services.db.transaction() as uow:
                    await jobs_repo.renew(uow.session, job_id, utcnow(), lease)

    renewer = asyncio.create_task(renew(), name=f"lease:{job_id}")
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer


async def _load(services: Services, assessment_id: uuid.UUID, job_id: uuid.UUID) -> Run | None:
    async with services.db.transaction() as uow:
        assessment = await assessments_repo.by_id(uow.session, assessment_id)
        if assessment is None or Status(assessment.status) not in (
            Status.QUEUED, Status.PROCESSING,
        ):  # fmt: skip
            return None  # finished by an earlier run, or deleted
        await stages_repo.ensure(uow.session, assessment_id)
        if assessment.status == Status.QUEUED.value:
            await assessments_repo.set_status(
                uow.session, assessment_id, {Status.QUEUED}, Status.PROCESSING
            )
        questions = (await assessments_repo.questions_for(uow.session, [assessment_id]))[
            assessment_id
        ]
        responses = (await assessments_repo.responses_for(uow.session, [assessment_id]))[
            assessment_id
        ]
        rows = await stages_repo.of(uow.session, assessment_id)
    run = Run(
        services,
        assessment,
        list(questions),
        {r.assessment_question_id: r for r in responses},
        job_id,
    )
    for stage, row in rows.items():
        run.views[stage] = StageView(
            stage, StageState(row.state), row.attempts, row.started_at, row.finished_at
        )
        if row.state in (StageState.DONE.value, StageState.SKIPPED.value) and row.output_json:
            run.outputs[stage] = row.output_json
    return run


async def _announce(run: Run, status: Status = Status.PROCESSING) -> None:
    """Publish progress from what this run knows (it just wrote it): no database read."""
    degraded = bool(run.assessment.degraded)
    progress = progress_of(status, run.views, degraded, utcnow())
    await events.publish_progress(run.services, run.assessment.id, progress)


def _set_view(run: Run, stage: Stage, state: StageState, now: Any) -> None:
    before = run.views.get(stage, StageView(stage))
    if state is StageState.IN_PROGRESS:
        run.views[stage] = StageView(stage, state, before.attempts + 1, now, None)
    elif state in (StageState.DONE, StageState.FAILED, StageState.SKIPPED):
        run.views[stage] = StageView(stage, state, before.attempts, before.started_at, now)
    else:
        run.views[stage] = StageView(stage, state, before.attempts, before.started_at, None)


async def _run_stages(run: Run) -> None:
    """One transaction and one event per stage boundary: the stage that ends and the one that
    starts are written together."""
    pending = [stage for stage in STAGES if stage not in run.outputs]
    if not pending:
        return
    now = utcnow()
    async with run.services.db.transaction() as uow:
        await stages_repo.mark(uow.session, run.assessment.id, pending[0], StageState.IN_PROGRESS,
                               now)  # fmt: skip
    _set_view(run, pending[0], StageState.IN_PROGRESS, now)
    await _announce(run)
    for index, stage in enumerate(pending):
        started = time.perf_counter()
        if run.services.settings.chaos_stage_delay_seconds:
            await asyncio.sleep(run.services.settings.chaos_stage_delay_seconds)
        try:
            output = await STAGE_FUNCTIONS[stage](run)
        except StageError as exc:
            await _stage_setback(run, stage, str(exc))
            raise
        except Exception as exc:
            # Anything unexpected is treated as transient too: retried, and on the last try the
            # assessment fails with the reason, instead of a job that dies silently.
            log.exception("stage crashed", extra={"stage": stage.value, "assessment": run.key})
            await _stage_setback(run, stage, f"{type(exc).__name__}: {exc}")
            raise StageError(f"{stage.name} failed: {type(exc).__name__}") from exc
        following = pending[index + 1] if index + 1 < len(pending) else None
        now = utcnow()
        async with run.services.db.transaction() as uow:
            await stages_repo.mark(
                uow.session, run.assessment.id, stage, StageState.DONE, now, output=output
            )
            if following is not None:
                await stages_repo.mark(
                    uow.session, run.assessment.id, following, StageState.IN_PROGRESS, now
                )
        run.outputs[stage] = output
        _set_view(run, stage, StageState.DONE, now)
        if following is not None:
            _set_view(run, following, StageState.IN_PROGRESS, now)
        metrics().stage_duration.record(time.perf_counter() - started, {"stage": stage.value})
        if following is not None:
            await _announce(run)  # the last stage's end is announced with DONE by _finish


async def _stage_setback(run: Run, stage: Stage, error: str) -> None:
    now = utcnow()
    async with run.services.db.transaction() as uow:
        await stages_repo.mark(
            uow.session, run.assessment.id, stage, StageState.PENDING, now, error=error
        )
    _set_view(run, stage, StageState.PENDING, now)
    await _announce(run)


async def fail_assessment(
    services: Services, assessment_id: uuid.UUID, job_id: uuid.UUID, reason: str
) -> None:
    """Out of tries: FAILED with the reason, the failed webhook, and a last progress event."""
    now = utcnow()
    async with services.db.transaction() as uow:
        await jobs_repo.settle(uow.session, job_id, "failed", now, reason)
        rows = await stages_repo.of(uow.session, assessment_id)
        # The first unfinished stage, in pipeline order, is the one that failed.
        for stage in STAGES:
            row = rows.get(stage)
            if row is not None and row.state in (
                StageState.PENDING.value, StageState.IN_PROGRESS.value,
            ):  # fmt: skip
                await stages_repo.mark(uow.session, assessment_id, stage, StageState.FAILED, now)
                break
        changed = await assessments_repo.set_status(
            uow.session,
            assessment_id,
            {Status.QUEUED, Status.PROCESSING},
            Status.FAILED,
            completed_at=now,
        )
        if changed:
            await queue_assessment_event(uow, services, assessment_id, job_id, "assessment.failed")
    metrics().jobs.add(1, {"task": "run_pipeline", "event": "failed"})
    log.error("assessment failed", extra={"assessment": str(assessment_id), "reason": reason})
    if changed:
        await _record_latency(services, assessment_id, now)
    await events.publish(services, assessment_id)


# ---------------------------------------------------------------- stages


async def rule_score(run: Run) -> dict[str, Any]:
    """Theory correctness (scored by rule at answer time) and the interest answers."""
    per_item, interests = [], []
    for question in run.questions:
        response = run.responses.get(question.id)
        qtype = QuestionType(question.type)
        if qtype is QuestionType.THEORETICAL:
            per_item.append(
                {
                    "questionId": ids.encode(ids.Kind.ASSESSMENT_QUESTION, question.id),
                    "domain": question.domain,
                    "answered": response is not None,
                    "correct": bool(response and response.is_correct),
                }
            )
        elif (
            qtype is QuestionType.PROFILE
            and response is not None
            and response.answer_numeric is not None
        ):
            scale = question.scale_snapshot or {}
            interests.append(
                {
                    "area": question.answer_key_json.get("interestArea") or question.domain,
                    "value": int(response.answer_numeric),
                    "min": int(scale.get("min", 1)),
                    "max": int(scale.get("max", 5)),
                }
            )
    interests += await stated_interests(run.services, run.assessment.user_id)
    correct = sum(1 for item in per_item if item["correct"])
    return {"theory": {"correct": correct, "total": len(per_item), "perItem": per_item},
            "interests": interests}  # fmt: skip


async def gpt_essays(run: Run) -> dict[str, Any]:
    """Scores every answered essay that has no score of the configured kind for its current
    text, in one batch: with an LLM, one call for all the essays of the assessment; with the
    local scorer, only those the per-essay jobs of answer time have not done yet (waiting a
    little for the ones already running)."""
    services = run.services
    wanted = "llm" if services.llm.configured else "local"
    essays = [q for q in run.questions if QuestionType(q.type) is QuestionType.ESSAY]
    answered = {
        q.id: (run.responses[q.id].answer_text or "")
        for q in essays
        if q.id in run.responses and run.responses[q.id].answer_text
    }
    deadline = time.monotonic() + services.settings.essay_wait_seconds
    while True:
        async with services.db.read() as session:
            scores = await essay_scores_repo.latest_for(session, list(answered), wanted)
            # Only jobs already running are worth waiting for (their scorer call is under
            # way); queued ones find the score made here and skip.
            pending = (
                await jobs_repo.running_for_assessment(session, run.assessment.id, "essay")
                if wanted == "local"
                else 0
            )
        missing = [q for q in essays if q.id in answered
                   and (q.id, answer_hash(answered[q.id])) not in scores]  # fmt: skip
        if not missing or not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    if missing:
        async with services.db.read() as session:
            bank = await questions_repo.essay_references(session)
        tasks = [essay_task(q, answered[q.id], bank) for q in missing]
        try:
            results = await services.scorer.score(
                tasks, assessment_id=run.assessment.id, call_key=f"{run.job_id}:essays"
            )
        except Exception as exc:
            raise StageError(f"essay scoring failed: {exc}") from exc
        threshold = services.settings.essay_review_threshold
        async with services.db.transaction() as uow:
            # A per-essay job still running when the wait above ran out scores the same answer
            # and writes it too (its scorer is busy for longer in a cold worker). Both writers
            # lock the assessment and keep a score already there, so each answer is scored
            # once (found by test_durability after the sweeper re-enqueued both kinds at once).
            await assessments_repo.by_id_for_update(uow.session, run.assessment.id)
            written = await essay_scores_repo.latest_for(
                uow.session, [q.id for q in missing], wanted
            )
            for question, result in zip(missing, results, strict=True):
                key = (question.id, answer_hash(answered[question.id]))
                scores[key] = written.get(key) or await essay_scores_repo.add(
                    uow.session, run.assessment.id, question.id, key[1], result, threshold
                )
    chosen = {
        q.id: scores.get((q.id, answer_hash(answered[q.id]))) for q in essays if q.id in answered
    }
    async with services.db.read() as session:
        overrides = await essay_scores_repo.overrides_for(
            session, [row.id for row in chosen.values() if row is not None]
        )
    return {"essays": essay_items(essays, answered, chosen, overrides)}


def essay_items(
    essays: Sequence[AssessmentQuestion],
    answered: Mapping[uuid.UUID, str],
    chosen: Mapping[uuid.UUID, EssayScore | None],
    overrides: Mapping[uuid.UUID, EssayScoreOverride],
) -> list[dict[str, Any]]:
    """The GPT_ESSAYS output (and the stored result's essays): one item per essay question,
    from the essay score each answer got and its newest human override, which replaces the
    machine's score and rubric (the machine's stay beside it, as machineScore)."""
    items = []
    for question in essays:
        row = chosen.get(question.id) if question.id in answered else None
        override = overrides.get(row.id) if row is not None else None
        rubric = [
            {"name": c["name"], "score": c["score"]} for c in (row.rubric_json if row else [])
        ]
        if override is not None and override.rubric_json:
            rubric = [{"name": c["name"], "score": c["score"]} for c in override.rubric_json]
        items.append(
            {
                "questionId": ids.encode(ids.Kind.ASSESSMENT_QUESTION, question.id),
                "domain": question.domain,
                "answered": question.id in answered,
                "score": (override.score if override else row.score) if row else 0.0,
                "rubric": rubric,
                "feedback": row.feedback if row else "No answer was given.",
                "scoredBy": row.scored_by if row else "local",
                "degraded": bool(row and row.degraded),
                "promptVersion": row.prompt_version if row else None,
                "essayScoreId": ids.encode(ids.Kind.ESSAY_SCORE, row.id) if row else None,
                "machineScore": row.score if row else None,
                "localScore": row.local_score if row else None,
                "flags": [f.value for f in parse_flags(row.flags)] if row else [],
                # Resolved once a human has scored it.
                "needsReview": bool(row and row.needs_review and override is None),
                "override": _override_dict(override) if override else None,
            }
        )
    return items


def _override_dict(override: EssayScoreOverride) -> dict[str, Any]:
    return {
        "id": ids.encode(ids.Kind.ESSAY_OVERRIDE, override.id),
        "score": override.score,
        "reason": override.reason,
        "reviewerId": (
            ids.encode(ids.Kind.USER, override.reviewer_id) if override.reviewer_id else None
        ),
        "at": override.created_at.isoformat(),
    }


def essay_task(
    question: AssessmentQuestion, text: str, bank: Sequence[tuple[uuid.UUID, str, str]] = ()
) -> EssayTask:
    """The scorer's task for one answer. `bank` is every active essay question of the bank
    (questions_repo.essay_references): the others are what an off-question answer is matched
    against."""
    rubric = tuple(
        Criterion(c["name"], c.get("description"), float(c.get("weight", 1.0)))
        for c in question.rubric_snapshot or []
    )
    key = question.answer_key_json
    return EssayTask(
        key=str(question.id),
        prompt=question.prompt_snapshot,
        answer=text,
        reference_answer=key.get("referenceAnswer"),
        key_points=tuple(key.get("keyPoints") or ()),
        rubric=rubric or DEFAULT_RUBRIC,
        other_questions=tuple(
            OtherQuestion(prompt, reference)
            for bank_id, prompt, reference in bank
            if bank_id != question.question_id and prompt != question.prompt_snapshot
        ),
    )


def profile_of(run: Run) -> SkillProfile:
    rule_score = run.outputs[Stage.RULE_SCORE]
    return profile_from(
        rule_score["theory"]["perItem"], run.outputs[Stage.GPT_ESSAYS]["essays"],
        rule_score["interests"],
    )  # fmt: skip


def profile_from(
    theory: list[dict[str, Any]], essays: list[dict[str, Any]], interests: list[dict[str, Any]]
) -> SkillProfile:
    """The profile from the stored stage outputs (also used when essays are re-scored)."""
    items = [
        ItemScore(t["questionId"], "theory", t["domain"], 1.0 if t["correct"] else 0.0,
                  answered=t["answered"])
        for t in theory
    ] + [
        ItemScore(e["questionId"], "essay", e["domain"], float(e["score"]),
                  answered=e["answered"], fallback=bool(e["degraded"]),
                  needs_review=bool(e.get("needsReview")))
        for e in essays
    ]  # fmt: skip
    answers = [InterestAnswer(i["area"], i["value"], i["min"], i["max"]) for i in interests]
    return build_profile(items, answers)


def scored_items(
    questions: Sequence[AssessmentQuestion],
    responses: Mapping[uuid.UUID, Response],
    theory: list[dict[str, Any]],
    essays: list[dict[str, Any]],
) -> list[ScoredItem]:
    """The scored items of a result as the item statistics see them: which bank question,
    its score, and the option picked."""
    by_ref = {ids.encode(ids.Kind.ASSESSMENT_QUESTION, q.id): q for q in questions}

    def bank_id(ref: str) -> str | None:
        question = by_ref.get(ref)
        return str(question.question_id) if question and question.question_id else None

    def picked(ref: str) -> str | None:
        question = by_ref.get(ref)
        response = responses.get(question.id) if question else None
        return response.answer_option if response else None

    return [
        ScoredItem(bank_id(t["questionId"]), "theory", 1.0 if t["correct"] else 0.0,
                   bool(t["answered"]), picked(t["questionId"]))
        for t in theory
    ] + [
        ScoredItem(bank_id(e["questionId"]), "essay", float(e["score"]), bool(e["answered"]))
        for e in essays
    ]  # fmt: skip


async def rag(run: Run) -> dict[str, Any]:
    profile = profile_of(run)
    retrieval = await run.services.recommender.retrieve(
        profile, run.assessment.track, call_key=str(run.job_id)
    )
    return {
        "profile": profile.as_dict(),
        "candidates": [_candidate_dict(c) for c in retrieval.candidates],
        "degraded": retrieval.degraded,
        "topSimilarity": retrieval.top_similarity,
        "notes": list(retrieval.notes),
    }


async def fusion(run: Run) -> dict[str, Any]:
    retrieved = run.outputs[Stage.RAG]
    profile = SkillProfile.from_dict(retrieved["profile"])
    candidates = [_candidate_from(c) for c in retrieved["candidates"]]
    explanation = await run.services.recommender.explain(
        candidates, profile, run.assessment.track,
        assessment_id=run.assessment.id, call_key=f"{run.job_id}:fusion",
    )  # fmt: skip
    return {
        "summary": explanation.summary,
        "degraded": explanation.degraded,
        "explainedBy": explanation.explained_by,
        "items": [_item_dict(pick) for pick in explanation.picks],
    }


def _item_dict(pick: Pick) -> dict[str, Any]:
    candidate = pick.scored.candidate
    return {
        "credentialId": candidate.key,
        "rank": pick.rank,
        "reason": pick.reason,
        "fit": pick.scored.fit,
        "signals": dict(pick.scored.signals),
        "traces": [
            {"source": candidate.provider or candidate.title, "snippet": e.snippet,
             "url": candidate.url, "score": e.similarity}
            for e in evidence_of(candidate)
        ],
    }  # fmt: skip


def _candidate_dict(c: Candidate) -> dict[str, Any]:
    return {"key": c.key, "slug": c.slug, "title": c.title, "provider": c.provider,
            "domains": list(c.domains), "tags": list(c.tags),
            "level": c.level.value if c.level else None, "description": c.description,
            "url": c.url, "similarity": c.similarity,
            "evidence": [[e.snippet, e.similarity] for e in c.evidence],
            "similarities": dict(c.similarities)}  # fmt: skip


def _candidate_from(raw: dict[str, Any]) -> Candidate:
    return Candidate(
        key=raw["key"],
        slug=raw["slug"],
        title=raw["title"],
        provider=raw.get("provider"),
        domains=tuple(raw.get("domains") or ()),
        tags=tuple(raw.get("tags") or ()),
        level=CredentialLevel(raw["level"]) if raw.get("level") else None,
        description=raw.get("description") or "",
        url=raw.get("url"),
        similarity=float(raw.get("similarity") or 0.0),
        evidence=tuple(Evidence(text, score) for text, score in raw.get("evidence") or ()),
        similarities={k: float(v) for k, v in (raw.get("similarities") or {}).items()},
    )


STAGE_FUNCTIONS: dict[Stage, Callable[[Run], Awaitable[dict[str, Any]]]] = {
    Stage.RULE_SCORE: rule_score,
    Stage.GPT_ESSAYS: gpt_essays,
    Stage.RAG: rag,
    Stage.FUSION: fusion,
}


# ---------------------------------------------------------------- the end


async def _finish(run: Run) -> None:
    """Results, DONE and the completed webhook in one transaction, once."""
    rule, essays = run.outputs[Stage.RULE_SCORE], run.outputs[Stage.GPT_ESSAYS]
    retrieved, fused = run.outputs[Stage.RAG], run.outputs[Stage.FUSION]
    degraded = bool(
        retrieved.get("degraded")
        or fused.get("degraded")
        or any(e["degraded"] for e in essays["essays"])
    )
    now = utcnow()
    async with run.services.db.transaction() as uow:
        won = await assessments_repo.set_status(
            uow.session,
            run.assessment.id,
            {Status.PROCESSING},
            Status.DONE,
            completed_at=now,
            degraded=degraded,
        )
        if won:
            await results_repo.store(
                uow.session,
                run.assessment.id,
                theory=rule["theory"],
                essays=essays,
                interests={"interests": rule["interests"]},
                profile=retrieved["profile"],
                summary=fused["summary"],
                degraded=degraded,
                items=[
                    results_repo.ItemToStore(
                        uuid.UUID(item["credentialId"]),
                        item["rank"],
                        item["reason"],
                        item["fit"],
                        item["traces"],
                    )
                    for item in fused["items"]
                ],
                now=now,
            )
            # Counted once: the compare-and-set above lets one run through, and the result
            # keeps what it added for a later re-score to replace. An admin's custom try-out
            # is not a student's response and never counts.
            if not run.assessment.custom:
                await item_stats_repo.record(
                    uow.session, run.assessment.id,
                    contributions(scored_items(run.questions, run.responses,
                                               rule["theory"]["perItem"], essays["essays"])),
                )  # fmt: skip
            await queue_assessment_event(
                uow, run.services, run.assessment.id, run.job_id, "assessment.completed"
            )
        await jobs_repo.settle(uow.session, run.job_id, "done", now)
    if won:
        if run.assessment.submitted_at is not None:
            seconds = (now - run.assessment.submitted_at).total_seconds()
            metrics().submit_to_done.record(seconds, {"status": "done"})
        run.assessment.degraded = degraded
        await _announce(run, Status.DONE)
    else:
        await events.publish(run.services, run.assessment.id)


async def _record_latency(services: Services, assessment_id: uuid.UUID, now: Any) -> None:
    async with services.db.read() as session:
        assessment = await assessments_repo.by_id(session, assessment_id)
    if assessment is not None and assessment.submitted_at is not None:
        seconds = (now - assessment.submitted_at).total_seconds()
        metrics().submit_to_done.record(seconds, {"status": assessment.status})


__all__ = ["EssayResult", "run_pipeline"]
