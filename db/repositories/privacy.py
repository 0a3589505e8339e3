"""Personal data (NFR6): everything stored about one person as one document, and its erasure.

Where a person's data lives (tests/api/test_privacy.py fails when a table appears that is in
neither its list of personal tables nor its list of institution tables):

- users (the account), refresh_tokens (sessions), advisor_assignments (either side of one);
- assessments and what hangs off them: assessment_questions (snapshots), responses (answers),
  essay_scores (scoring history), essay_score_overrides (human scores of their essays; a
  reviewer's erasure leaves the override, without the reviewer), assessment_stages (pipeline
  state and intermediate output),
  scores, recommendations, recommendation_items, rag_traces, jobs;
- recommendation_feedback (by user); llm_usage (by assessment; kept and detached on erasure,
  it holds token counts and cost only); webhook_deliveries (their payload names the person);
  audit_events (the person as actor or as subject).

The export is a document of plain JSON values: public ids (domain/ids.py) where a kind exists,
ISO-8601 times, enum values spelled as the API spells them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db import like
from db.repositories import results as results_repo
from db.repositories.results import StoredResult
from db.tables import (
    AdvisorAssignment,
    Assessment,
    AssessmentQuestion,
    AssessmentStage,
    AuditEvent,
    EssayScore,
    EssayScoreOverride,
    Job,
    LlmUsage,
    RagTrace,
    Recommendation,
    RecommendationFeedback,
    RecommendationItem,
    RefreshToken,
    Response,
    Score,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain import ids
from domain.lifecycle import Status
from domain.privacy import AuditTrace, ErasedPerson, anonymise
from domain.questions import QuestionType
from domain.stored_feedback import guarded
from domain.webhooks import host_of

EXPORT_FORMAT = "microcred-assess.personal-data.v1"


# ---------------------------------------------------------------- export


async def export_document(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> dict[str, Any] | None:
    """Everything stored about the user, or None when there is no such user."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    public_id = _user_ref(user.id)
    return {
        "format": EXPORT_FORMAT,
        "exportedAt": _iso(now),
        "account": _account(user),
        "advisor": await _advisor_of(session, user_id),
        "advisedStudents": await _students_of(session, user_id),
        "sessions": await _sessions(session, user_id),
        "assessments": await _assessments(session, user_id),
        "recommendationFeedback": await _feedback(session, user_id),
        "webhookDeliveries": await _deliveries(session, public_id),
        "auditEvents": await _audit_events(session, user_id, public_id),
    }


def _account(user: User) -> dict[str, Any]:
    # Never the password hash: it is a credential, not information about the person.
    return {
        "id": _user_ref(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role.upper(),
        "interests": list(user.interests_json or []),
        "createdAt": _iso(user.created_at),
        "updatedAt": _iso(user.updated_at),
    }


async def _advisor_of(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any] | None:
    row = await session.get(AdvisorAssignment, user_id)
    if row is None:
        return None
    return {"advisorId": _user_ref(row.advisor_id), "assignedAt": _iso(row.assigned_at)}


async def _students_of(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.scalars(
        sa.select(AdvisorAssignment)
        .where(col(AdvisorAssignment.advisor_id) == user_id)
        .order_by(col(AdvisorAssignment.assigned_at))
    )
    return [
        {"studentId": _user_ref(row.student_id), "assignedAt": _iso(row.assigned_at)}
        for row in rows
    ]


async def _sessions(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    # Times only: the token hash would let nobody but an attacker do anything.
    rows = await session.scalars(
        sa.select(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id)
        .order_by(col(RefreshToken.issued_at), col(RefreshToken.id))
    )
    return [
        {
            "issuedAt": _iso(row.issued_at),
            "expiresAt": _iso(row.expires_at),
            "rotatedAt": _iso(row.rotated_at),
            "revokedAt": _iso(row.revoked_at),
            "revokedReason": row.revoked_reason,
        }
        for row in rows
    ]


class _OfAssessment(Protocol):
    @property
    def assessment_id(self) -> uuid.UUID | None: ...


Row = TypeVar("Row", bound=_OfAssessment)


@dataclass
class _AssessmentRows:
    """Every row hanging off a person's assessments, grouped by assessment."""

    questions: dict[uuid.UUID | None, list[AssessmentQuestion]]
    answers: dict[uuid.UUID, Response]
    essay_scores: dict[uuid.UUID | None, list[EssayScore]]
    overrides: dict[uuid.UUID | None, list[EssayScoreOverride]]
    stages: dict[uuid.UUID | None, list[AssessmentStage]]
    jobs: dict[uuid.UUID | None, list[Job]]
    usage: dict[uuid.UUID | None, list[LlmUsage]]
    results: dict[uuid.UUID, StoredResult] = field(default_factory=dict)


async def _assessments(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    assessments = list(
        await session.scalars(
            sa.select(Assessment)
            .where(col(Assessment.user_id) == user_id)
            .order_by(col(Assessment.created_at), col(Assessment.id))
        )
    )
    keys = [a.id for a in assessments]
    responses = await _by_assessment(session, Response, keys, col(Response.id))
    rows = _AssessmentRows(
        questions=await _by_assessment(
            session, AssessmentQuestion, keys, col(AssessmentQuestion.order_no)
        ),
        answers={r.assessment_question_id: r for group in responses.values() for r in group},
        essay_scores=await _by_assessment(
            session, EssayScore, keys, col(EssayScore.created_at), col(EssayScore.id)
        ),
        overrides=await _by_assessment(
            session,
            EssayScoreOverride,
            keys,
            col(EssayScoreOverride.created_at),
            col(EssayScoreOverride.id),
        ),
        stages=await _by_assessment(session, AssessmentStage, keys, col(AssessmentStage.id)),
        jobs=await _by_assessment(session, Job, keys, col(Job.created_at), col(Job.id)),
        usage=await _by_assessment(session, LlmUsage, keys, col(LlmUsage.created_at)),
        results=await results_repo.load(session, keys),
    )
    return [_assessment(assessment, rows) for assessment in assessments]


async def _by_assessment(
    session: AsyncSession, model: type[Row], keys: Sequence[uuid.UUID], *order: Any
) -> dict[uuid.UUID | None, list[Row]]:
    column = sa.inspect(model).columns["assessment_id"]
    found = await session.scalars(sa.select(model).where(column.in_(keys)).order_by(*order))
    grouped: dict[uuid.UUID | None, list[Row]] = defaultdict(list)
    for row in found:
        grouped[row.assessment_id].append(row)
    return grouped


class _FeedbackGuard:
    """Stored feedback of one assessment, checked against its answer key on the way out: rows
    written before the feedback guard existed must not leak the key through the export."""

    def __init__(self, questions: Sequence[AssessmentQuestion], answers: dict[uuid.UUID, Response]):
        self._questions = {q.id: q for q in questions}
        self._answers = answers

    def __call__(self, question_id: uuid.UUID | None, feedback: str | None) -> str | None:
        question = self._questions.get(question_id) if question_id else None
        if not feedback:
            return feedback
        if question is None:
            return None  # no key to check against: export nothing rather than risk it
        response = self._answers.get(question.id)
        return guarded(
            feedback, prompt=question.prompt_snapshot, answer_key=question.answer_key_json or {},
            answer=response.answer_text if response else None,
        )  # fmt: skip

    def items(self, essays: Any) -> Any:
        """A stored essays document ({"essays": [...]}) with every feedback guarded."""
        if not isinstance(essays, dict) or not isinstance(essays.get("essays"), list):
            return essays
        guarded_items = []
        for item in essays["essays"]:
            if isinstance(item, dict) and "feedback" in item:
                raw_id = item.get("questionId")
                key = ids.decode(ids.Kind.ASSESSMENT_QUESTION, raw_id) if isinstance(
                    raw_id, str
                ) else None  # fmt: skip
                item = {**item, "feedback": self(key, item.get("feedback"))}
            guarded_items.append(item)
        return {**essays, "essays": guarded_items}


def _assessment(assessment: Assessment, rows: _AssessmentRows) -> dict[str, Any]:
    key = assessment.id
    guard = _FeedbackGuard(rows.questions.get(key, []), rows.answers)
    return {
        "id": ids.encode(ids.Kind.ASSESSMENT, key),
        "track": assessment.track,
        "status": Status(assessment.status).name,
        "form": assessment.form_name,
        "custom": assessment.custom,
        "composition": assessment.composition_json,
        "createdAt": _iso(assessment.created_at),
        "expiresAt": _iso(assessment.expires_at),
        "submittedAt": _iso(assessment.submitted_at),
        "completedAt": _iso(assessment.completed_at),
        "degraded": assessment.degraded,
        "questions": [_question(q, rows.answers.get(q.id)) for q in rows.questions.get(key, [])],
        "essayScores": [_essay_score(s, guard) for s in rows.essay_scores.get(key, [])],
        "essayScoreOverrides": [_override(o) for o in rows.overrides.get(key, [])],
        "pipelineStages": [_stage(s, guard) for s in rows.stages.get(key, [])],
        "result": _result(rows.results.get(key), guard),
        "jobs": [_job(j) for j in rows.jobs.get(key, [])],
        "llmUsage": [_usage(u) for u in rows.usage.get(key, [])],
    }


def _question(question: AssessmentQuestion, response: Response | None) -> dict[str, Any]:
    # The snapshot as the student saw it. The answer key (correct option, reference answer, key
    # points) is the institution's data, not the student's: the export says whether each
    # answer was right, never what the right answer is (that would leak the bank).
    return {
        "id": ids.encode(ids.Kind.ASSESSMENT_QUESTION, question.id),
        "orderNo": question.order_no,
        "type": QuestionType(question.type).name,
        "domain": question.domain,
        "prompt": question.prompt_snapshot,
        "options": question.options_snapshot,
        "rubric": question.rubric_snapshot,
        "scale": question.scale_snapshot,
        "answer": _answer(response) if response else None,
    }


def _answer(response: Response) -> dict[str, Any]:
    return {
        "text": response.answer_text,
        "option": response.answer_option,
        "numeric": _number(response.answer_numeric),
        "correct": response.is_correct,
        "submittedAt": _iso(response.submitted_at),
    }


def _essay_score(score: EssayScore, guard: _FeedbackGuard) -> dict[str, Any]:
    return {
        "questionId": ids.encode(ids.Kind.ASSESSMENT_QUESTION, score.assessment_question_id),
        "score": score.score,
        "rubric": score.rubric_json,
        "feedback": guard(score.assessment_question_id, score.feedback),
        "scoredBy": score.scored_by.upper(),
        "degraded": score.degraded,
        "promptVersion": score.prompt_version,
        "model": score.model,
        "createdAt": _iso(score.created_at),
    }


def _override(override: EssayScoreOverride) -> dict[str, Any]:
    # A human's score of the student's essay: theirs to see, with who gave it and why.
    return {
        "essayScoreId": ids.encode(ids.Kind.ESSAY_SCORE, override.essay_score_id),
        "score": override.score,
        "rubric": override.rubric_json,
        "reason": override.reason,
        "reviewerId": _user_ref(override.reviewer_id) if override.reviewer_id else None,
        "createdAt": _iso(override.created_at),
    }


def _stage(stage: AssessmentStage, guard: _FeedbackGuard) -> dict[str, Any]:
    return {
        "stage": stage.stage.upper(),
        "state": stage.state.upper(),
        "attempts": stage.attempts,
        "startedAt": _iso(stage.started_at),
        "finishedAt": _iso(stage.finished_at),
        "lastError": stage.last_error,
        # Intermediate results computed from the answers (theory marks, essay scores,
        # retrieval candidates): derived personal data, so part of the copy.
        "output": guard.items(stage.output_json),
    }


def _result(stored: StoredResult | None, guard: _FeedbackGuard) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {
        "scores": _scores(stored.score, guard),
        "recommendation": _recommendation(stored),
    }


def _scores(score: Score, guard: _FeedbackGuard) -> dict[str, Any]:
    return {
        "theoretical": score.theory_score_json,
        "essays": guard.items(score.essay_scores_json),
        "interests": score.profile_signals_json,
        "profile": score.profile_json,
        "computedAt": _iso(score.computed_at),
    }


def _recommendation(stored: StoredResult) -> dict[str, Any]:
    recommendation: Recommendation = stored.recommendation
    return {
        "id": ids.encode(ids.Kind.RECOMMENDATION, recommendation.id),
        "summary": recommendation.summary_text,
        "degraded": recommendation.degraded,
        "generatedAt": _iso(recommendation.generated_at),
        "items": [_item(item, stored) for item in stored.items],
    }


def _item(item: RecommendationItem, stored: StoredResult) -> dict[str, Any]:
    credential = stored.credentials.get(item.credential_id)
    return {
        "id": ids.encode(ids.Kind.RECOMMENDATION_ITEM, item.id),
        "rank": item.rank,
        "credential": {
            "id": ids.encode(ids.Kind.CREDENTIAL, item.credential_id),
            "slug": credential.slug if credential else None,
            "title": credential.title if credential else None,
        },
        "reasonShort": item.reason_short,
        "fitScore": item.fit_score,
        "ragTrace": [_trace(t) for t in stored.traces.get(item.id, [])],
    }


def _trace(trace: RagTrace) -> dict[str, Any]:
    return {
        "source": trace.source_title,
        "snippet": trace.snippet,
        "url": trace.source_url,
        "score": _number(trace.score),
    }


def _job(job: Job) -> dict[str, Any]:
    # Not the payload: it holds internal ids and, for webhooks, the body listed under
    # webhookDeliveries.
    return {
        "id": ids.encode(ids.Kind.JOB, job.id),
        "type": job.type.upper(),
        "status": job.status.upper(),
        "attempts": job.attempts,
        "createdAt": _iso(job.created_at),
        "updatedAt": _iso(job.updated_at),
        "finishedAt": _iso(job.finished_at),
        "lastError": job.last_error,
    }


def _usage(usage: LlmUsage) -> dict[str, Any]:
    return {
        "purpose": usage.purpose,
        "model": usage.model,
        "promptTokens": usage.prompt_tokens,
        "completionTokens": usage.completion_tokens,
        "costUsd": _number(usage.cost_usd),
        "createdAt": _iso(usage.created_at),
    }


async def _feedback(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.scalars(
        sa.select(RecommendationFeedback)
        .where(col(RecommendationFeedback.user_id) == user_id)
        .order_by(col(RecommendationFeedback.created_at), col(RecommendationFeedback.id))
    )
    return [
        {
            "recommendationId": ids.encode(ids.Kind.RECOMMENDATION_ITEM, row.item_id),
            "accepted": row.accepted,
            "comment": row.comment,
            "createdAt": _iso(row.created_at),
            "updatedAt": _iso(row.updated_at),
        }
        for row in rows
    ]


async def _deliveries(session: AsyncSession, public_id: str) -> list[dict[str, Any]]:
    """Who received data about the person (GDPR art. 15(1)(c), recipients): the receiving host
    (not the whole URL, whose path is the integrator's configuration), what was sent, and how
    each attempt went."""
    rows = await session.execute(
        sa.select(WebhookDelivery, col(WebhookEndpoint.url))
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(_mentions(public_id))
        .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.attempt))
    )
    return [
        {
            "eventId": str(delivery.event_id),
            "eventType": delivery.event_type,
            "receiverHost": host_of(url),
            "payload": delivery.payload_json,
            "attempt": delivery.attempt,
            "status": delivery.status.upper(),
            "responseStatus": delivery.response_status,
            "createdAt": _iso(delivery.created_at),
            "deliveredAt": _iso(delivery.delivered_at),
        }
        for delivery, url in rows
    ]


def _mentions(public_id: str) -> sa.ColumnElement[bool]:
    """A delivery whose payload names the person anywhere. Its JSON as text, on both databases
    (JSONB's text form on PostgreSQL, the stored text on SQLite); `_` is a LIKE wildcard and
    public ids contain one, hence the escaping."""
    text = sa.cast(col(WebhookDelivery.payload_json), sa.Text)
    return text.like(f"%{like.literal(public_id)}%", escape=like.ESCAPE)


async def _audit_events(
    session: AsyncSession, user_id: uuid.UUID, public_id: str
) -> list[dict[str, Any]]:
    """Events about the person (subject) and events by them (actor)."""
    rows = await session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(col(AuditEvent.subject_id) == user_id, col(AuditEvent.actor) == public_id))
        .order_by(col(AuditEvent.created_at), col(AuditEvent.id))
    )
    return [
        {
            "id": ids.encode(ids.Kind.AUDIT_EVENT, row.id),
            "actor": row.actor,
            "action": row.action,
            "resource": row.resource,
            "requestId": row.request_id,
            "meta": row.meta_json,
            "createdAt": _iso(row.created_at),
        }
        for row in rows
    ]


# ---------------------------------------------------------------- erasure


@dataclass(frozen=True)
class Erasure:
    """What an erasure did, as counts per table: no identifiers, so it can go into the audit
    event that records the erasure."""

    counts: dict[str, int]


async def erase(session: AsyncSession, user_id: uuid.UUID) -> Erasure | None:
    """Delete every row about the user and anonymise the audit events that name them, in the
    caller's transaction. None when there is no such user.

    Rows are deleted explicitly, children first, rather than through ON DELETE CASCADE: the
    list of what goes is then readable here and does not depend on each database enforcing
    its foreign keys. The cascades remain a safety net for rows a concurrent writer adds.
    """
    user = await _lock_user(session, user_id)
    if user is None:
        return None
    person = await _erased_person(session, user)
    counts = await _delete_personal_rows(session, user_id, person.public_id)
    counts["audit_events (anonymised)"] = await _anonymise_audit_events(session, user_id, person)
    await session.execute(sa.delete(User).where(col(User.id) == user_id))
    counts["users"] = 1
    return Erasure(counts=counts)


async def _lock_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """Lock the account first (PostgreSQL; SQLite write transactions are serialised already):
    a concurrent login or start waits for the erasure and then finds no user, instead of
    adding a row the erasure has already passed."""
    statement = sa.select(User).where(col(User.id) == user_id).with_for_update()
    return (await session.scalars(statement)).first()


async def _erased_person(session: AsyncSession, user: User) -> ErasedPerson:
    assessment_ids = list(
        await session.scalars(
            sa.select(col(Assessment.id)).where(col(Assessment.user_id) == user.id)
        )
    )
    recommendations = list(
        await session.scalars(
            sa.select(col(Recommendation.id)).where(
                col(Recommendation.assessment_id).in_(assessment_ids)
            )
        )
    )
    items = list(
        await session.scalars(
            sa.select(col(RecommendationItem.id)).where(
                col(RecommendationItem.recommendation_id).in_(recommendations)
            )
        )
    )
    resources = (
        [ids.encode(ids.Kind.ASSESSMENT, key) for key in assessment_ids]
        + [ids.encode(ids.Kind.RECOMMENDATION, key) for key in recommendations]
        + [ids.encode(ids.Kind.RECOMMENDATION_ITEM, key) for key in items]
    )
    return ErasedPerson.of(
        _user_ref(user.id),
        identifiers=[user.email, user.name, str(user.id), user.id.hex],
        resources=resources,
    )


async def _delete_personal_rows(
    session: AsyncSession, user_id: uuid.UUID, public_id: str
) -> dict[str, int]:
    """Children first. Subqueries rather than id lists, so rows added since the ids were read
    go too."""
    mine = sa.select(col(Assessment.id)).where(col(Assessment.user_id) == user_id)
    recommendations = sa.select(col(Recommendation.id)).where(
        col(Recommendation.assessment_id).in_(mine)
    )
    items = sa.select(col(RecommendationItem.id)).where(
        col(RecommendationItem.recommendation_id).in_(recommendations)
    )
    steps: list[tuple[str, sa.Executable]] = [
        ("rag_traces", _delete_in(RagTrace.recommendation_id, recommendations)),
        # Their own feedback, and (only owners may give it) any on their items.
        ("recommendation_feedback", _delete_where(RecommendationFeedback.user_id, user_id)),
        ("recommendation_feedback", _delete_in(RecommendationFeedback.item_id, items)),
        ("recommendation_items", _delete_in(RecommendationItem.recommendation_id, recommendations)),
        ("recommendations", _delete_in(Recommendation.assessment_id, mine)),
        ("scores", _delete_in(Score.assessment_id, mine)),
        ("essay_score_overrides", _delete_in(EssayScoreOverride.assessment_id, mine)),
        ("essay_scores", _delete_in(EssayScore.assessment_id, mine)),
        ("responses", _delete_in(Response.assessment_id, mine)),
        ("assessment_stages", _delete_in(AssessmentStage.assessment_id, mine)),
        ("jobs", _delete_in(Job.assessment_id, mine)),
        # Cost accounting outlives the assessment (the monthly spend cap sums these rows).
        # Detached, a row holds a purpose, a model, token counts and a cost: no one's data.
        (
            "llm_usage (kept, detached)",
            sa.update(LlmUsage)
            .where(col(LlmUsage.assessment_id).in_(mine))
            .values(assessment_id=None),
        ),
        ("assessment_questions", _delete_in(AssessmentQuestion.assessment_id, mine)),
        ("assessments", _delete_where(Assessment.user_id, user_id)),
        ("refresh_tokens", _delete_where(RefreshToken.user_id, user_id)),
        ("advisor_assignments", _delete_where(AdvisorAssignment.student_id, user_id)),
        ("advisor_assignments", _delete_where(AdvisorAssignment.advisor_id, user_id)),
        # Deleted, not scrubbed: without the user id a payload still carries their assessment
        # id, score and band, which the receiver has already linked to them.
        ("webhook_deliveries", sa.delete(WebhookDelivery).where(_mentions(public_id))),
    ]
    counts: dict[str, int] = defaultdict(int)
    for table, statement in steps:
        result = await session.execute(statement.execution_options(synchronize_session=False))
        counts[table] += result.rowcount or 0  # type: ignore[attr-defined]
    return dict(counts)


def _delete_in(column: Any, keys: sa.Select[Any]) -> sa.Delete:
    """DELETE FROM the column's table WHERE column IN (keys)."""
    return sa.delete(column.class_).where(col(column).in_(keys))


def _delete_where(column: Any, value: uuid.UUID) -> sa.Delete:
    return sa.delete(column.class_).where(col(column) == value)


async def _anonymise_audit_events(
    session: AsyncSession, user_id: uuid.UUID, person: ErasedPerson
) -> int:
    """Events stay (what happened must remain answerable), stripped of the person: see
    domain/privacy.py for what is kept."""
    rows = list(
        await session.scalars(
            sa.select(AuditEvent).where(
                sa.or_(
                    col(AuditEvent.subject_id) == user_id,
                    col(AuditEvent.actor) == person.public_id,
                    col(AuditEvent.resource).in_(person.resources),
                )
            )
        )
    )
    for row in rows:
        kept = anonymise(AuditTrace(row.actor, row.resource, row.meta_json), person)
        row.actor, row.resource, row.meta_json = kept.actor, kept.resource, kept.meta
        row.subject_id = None
    await session.flush()
    return len(rows)


# ---------------------------------------------------------------- helpers


def _user_ref(user_id: uuid.UUID) -> str:
    return ids.encode(ids.Kind.USER, user_id)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _number(value: float | Decimal | None) -> float | None:
    # NUMERIC columns come back as Decimal on PostgreSQL, which JSON cannot carry.
    return float(value) if value is not None else None
