from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.pagination import Page, paginate
from db.tables import Assessment, AssessmentQuestion, Question, Response
from db.types import utcnow
from db.upsert import insert_for
from domain.answers import Answer, Snapshot
from domain.lifecycle import Status
from domain.questions import QuestionType


async def by_id(session: AsyncSession, assessment_id: uuid.UUID) -> Assessment | None:
    return await session.get(Assessment, assessment_id)


async def by_id_for_update(session: AsyncSession, assessment_id: uuid.UUID) -> Assessment | None:
    """Locks the row on PostgreSQL (SQLite write transactions are serialised already)."""
    statement = sa.select(Assessment).where(col(Assessment.id) == assessment_id).with_for_update()
    return (await session.scalars(statement)).first()


async def by_ids(session: AsyncSession, keys: Sequence[uuid.UUID]) -> dict[uuid.UUID, Assessment]:
    rows = await session.scalars(sa.select(Assessment).where(col(Assessment.id).in_(keys)))
    return {row.id: row for row in rows}


async def open_draft(session: AsyncSession, user_id: uuid.UUID, track: str) -> Assessment | None:
    statement = sa.select(Assessment).where(
        col(Assessment.user_id) == user_id,
        col(Assessment.track) == track,
        col(Assessment.status) == Status.DRAFT.value,
    )
    return (await session.scalars(statement)).first()


async def page_for_user(
    session: AsyncSession, user_id: uuid.UUID, first: int, after: str | None
) -> Page[Assessment]:
    statement = sa.select(Assessment).where(col(Assessment.user_id) == user_id)
    return await paginate(session, statement, col(Assessment.id), first, after)


async def seen_history(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, datetime]:
    """When each bank question was last shown to this student: the start of the latest of
    their attempts (any status, custom ones too: a question seen is seen) that held it."""
    last = sa.func.max(col(Assessment.created_at))
    rows = await session.execute(
        sa.select(col(AssessmentQuestion.question_id), last)
        .join(Assessment, col(Assessment.id) == col(AssessmentQuestion.assessment_id))
        .where(
            col(Assessment.user_id) == user_id,
            col(AssessmentQuestion.question_id).is_not(None),
        )
        .group_by(col(AssessmentQuestion.question_id))
    )
    # max() keeps the column's type, so the times come back timezone-aware on both databases.
    return {question: at for question, at in rows if question is not None and at is not None}


async def last_counted_start(
    session: AsyncSession, user_id: uuid.UUID, track: str, form_name: str
) -> datetime | None:
    """The start of the student's latest attempt at this track and form that counts for the
    retake cooldown (domain/retakes.py): not custom, not FAILED."""
    statement = (
        sa.select(col(Assessment.created_at))
        .where(
            col(Assessment.user_id) == user_id,
            col(Assessment.track) == track,
            col(Assessment.form_name) == form_name,
            col(Assessment.custom).is_(False),
            col(Assessment.status) != Status.FAILED.value,
        )
        .order_by(col(Assessment.created_at).desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


def snapshot_of(question: Question, assessment_id: uuid.UUID, order_no: int) -> AssessmentQuestion:
    """Copies everything the assessment needs, so later bank edits never reach it."""
    answer_key: dict[str, Any] = {}
    if question.rules_json and question.rules_json.get("correct"):
        answer_key["correct"] = question.rules_json["correct"]
    if question.reference_answer:
        answer_key["referenceAnswer"] = question.reference_answer
    if question.key_points_json:
        answer_key["keyPoints"] = list(question.key_points_json)
    if question.interest_area:
        answer_key["interestArea"] = question.interest_area
    return AssessmentQuestion(
        assessment_id=assessment_id,
        question_id=question.id,
        type=question.type,
        order_no=order_no,
        domain=question.domain,
        prompt_snapshot=question.prompt,
        options_snapshot=[dict(o) for o in question.options_json]
        if question.options_json
        else None,
        rubric_snapshot=[dict(c) for c in question.rubric_json] if question.rubric_json else None,
        scale_snapshot=dict(question.scale_json) if question.scale_json else None,
        answer_key_json=answer_key,
    )


async def add_with_questions(
    session: AsyncSession, assessment: Assessment, questions: Sequence[Question]
) -> list[AssessmentQuestion]:
    session.add(assessment)
    await session.flush()
    snapshots = [snapshot_of(q, assessment.id, n) for n, q in enumerate(questions, start=1)]
    session.add_all(snapshots)
    await session.flush()
    return snapshots


async def questions_for(
    session: AsyncSession, assessment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AssessmentQuestion]]:
    rows = await session.scalars(
        sa.select(AssessmentQuestion)
        .where(col(AssessmentQuestion.assessment_id).in_(assessment_ids))
        .order_by(col(AssessmentQuestion.assessment_id), col(AssessmentQuestion.order_no))
    )
    grouped: dict[uuid.UUID, list[AssessmentQuestion]] = defaultdict(list)
    for row in rows:
        grouped[row.assessment_id].append(row)
    return grouped


async def question_by_id(session: AsyncSession, key: uuid.UUID) -> AssessmentQuestion | None:
    return await session.get(AssessmentQuestion, key)


async def responses_for(
    session: AsyncSession, assessment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Response]]:
    rows = await session.scalars(
        sa.select(Response).where(col(Response.assessment_id).in_(assessment_ids))
    )
    grouped: dict[uuid.UUID, list[Response]] = defaultdict(list)
    for row in rows:
        grouped[row.assessment_id].append(row)
    return grouped


async def save_response(
    session: AsyncSession, assessment_id: uuid.UUID, question_id: uuid.UUID, answer: Answer
) -> None:
    """Insert or replace the one response to this question (concurrent answers: last wins)."""
    values = {
        "answer_text": answer.text,
        "answer_option": answer.option,
        "answer_numeric": answer.number,
        "is_correct": answer.is_correct,
        "submitted_at": utcnow(),
    }
    table = Response.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(
        id=uuid.uuid4(), assessment_id=assessment_id, assessment_question_id=question_id, **values
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.assessment_question_id], set_=values
    )
    await session.execute(statement)


async def set_status(
    session: AsyncSession,
    assessment_id: uuid.UUID,
    allowed_from: set[Status],
    to: Status,
    **values: Any,
) -> bool:
    """Compare-and-set on the status: True when this call made the change."""
    result = await session.execute(
        sa.update(Assessment)
        .where(
            col(Assessment.id) == assessment_id,
            col(Assessment.status).in_([s.value for s in allowed_from]),
        )
        .values(status=to.value, **values)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def expire_drafts(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        sa.update(Assessment)
        .where(col(Assessment.status) == Status.DRAFT.value, col(Assessment.expires_at) <= now)
        .values(status=Status.EXPIRED.value)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def snapshot_rules(question: AssessmentQuestion) -> Snapshot:
    scale = question.scale_snapshot or {}
    return Snapshot(
        type=QuestionType(question.type),
        option_keys=tuple(o["key"] for o in question.options_snapshot or []),
        scale_min=int(scale.get("min", 1)),
        scale_max=int(scale.get("max", 5)),
        correct_key=question.answer_key_json.get("correct"),
    )
