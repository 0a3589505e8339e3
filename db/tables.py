"""SQLModel tables: the service's original relational schema (constraints, cascades, indexes) plus
what the GraphQL contract needs. Rows are persistence only: GraphQL types map from them, never
expose them.

Conventions: UUIDv7 keys; JSONB on PostgreSQL and JSON on SQLite (db.types.JSONType); UTC-aware
timestamps on both (db.types.UTCDateTime); enumerations as TEXT with a CHECK list, as the seed
schema has them, so adding a value is a one-line migration instead of an ALTER TYPE.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime, utcnow
from domain.ids import new_uuid

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


ROLES = ("student", "advisor", "admin")
QUESTION_TYPES = ("theory", "essay", "profile")
ASSESSMENT_STATUSES = ("draft", "queued", "processing", "done", "failed", "expired")
JOB_TYPES = ("pipeline", "essay", "gpt", "rag", "fusion", "rag_index", "webhook", "rescore")
JOB_STATUSES = ("queued", "processing", "done", "failed")
LEVELS = ("beginner", "intermediate", "advanced")
STAGES = ("rule_score", "gpt_essays", "rag", "fusion")
STAGE_STATES = ("pending", "in_progress", "done", "failed", "skipped")
SCORERS = ("llm", "local")


def _id() -> Any:
    return Field(default_factory=new_uuid, primary_key=True, sa_type=sa.Uuid)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _fk(target: str, ondelete: Any = "CASCADE", nullable: bool = False) -> Any:
    default: Any = None if nullable else ...
    return Field(
        default=default, sa_type=sa.Uuid, foreign_key=target, ondelete=ondelete, nullable=nullable
    )


def _json(default_factory: Any = dict, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=JSONType, nullable=True)
    return Field(default_factory=default_factory, sa_type=JSONType, nullable=False)


# ---------------------------------------------------------------- users and auth


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(_in("role", ROLES), name="role"),
        # Case-insensitive uniqueness on both databases (the seed used CITEXT, PostgreSQL only).
        sa.Index("uq_users_email_lower", sa.func.lower(sa.column("email")), unique=True),
        sa.Index("idx_users_email", "email"),
    )

    id: uuid.UUID = _id()
    email: str = Field(sa_type=sa.Text, nullable=False)
    password_hash: str = Field(sa_type=sa.Text, nullable=False)
    role: str = Field(default="student", sa_type=sa.Text, nullable=False)
    name: str | None = Field(default=None, sa_type=sa.Text)
    interests_json: list[str] = _json(list)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class RefreshToken(SQLModel, table=True):
    """One row per issued refresh token. A login starts a family; each refresh rotates to a child
    in the same family. Presenting a rotated token again revokes the family (theft detection)."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        sa.Index("idx_refresh_tokens_family", "family_id"),
        sa.Index("idx_refresh_tokens_user", "user_id"),
        sa.Index("idx_refresh_tokens_expiry", "expires_at"),
    )

    id: uuid.UUID = _id()
    user_id: uuid.UUID = _fk("users.id")
    family_id: uuid.UUID = Field(sa_type=sa.Uuid, nullable=False)
    parent_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid)
    token_hash: str = Field(sa_type=sa.Text, nullable=False, unique=True)
    issued_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, sa_type=sa.Text)


class AdvisorAssignment(SQLModel, table=True):
    """A student has at most one advisor (the contract's User.advisor is a single user)."""

    __tablename__ = "advisor_assignments"
    __table_args__ = (sa.Index("idx_advisor_assignments_advisor", "advisor_id"),)

    student_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="users.id", ondelete="CASCADE", primary_key=True
    )
    advisor_id: uuid.UUID = _fk("users.id")
    assigned_at: datetime = _created()


# ---------------------------------------------------------------- question bank and forms


class Question(SQLModel, table=True):
    __tablename__ = "questions"
    __table_args__ = (
        sa.CheckConstraint(_in("type", QUESTION_TYPES), name="type"),
        sa.Index("idx_questions_active_type", "active", "type"),
    )

    id: uuid.UUID = _id()
    # Stable key of a seeded question (e.g. "databases-t-03"): the seed loader upserts by it.
    key: str | None = Field(default=None, sa_type=sa.Text, unique=True)
    type: str = Field(sa_type=sa.Text, nullable=False)
    prompt: str = Field(sa_type=sa.Text, nullable=False)
    domain: str = Field(sa_type=sa.Text, nullable=False)
    tracks_json: list[str] = _json(list)
    difficulty: int | None = Field(default=None)
    options_json: list[dict[str, str]] | None = _json(nullable=True)
    rules_json: dict[str, Any] | None = _json(nullable=True)
    rubric_json: list[dict[str, Any]] | None = _json(nullable=True)
    reference_answer: str | None = Field(default=None, sa_type=sa.Text)
    key_points_json: list[str] | None = _json(nullable=True)
    scale_json: dict[str, Any] | None = _json(nullable=True)
    interest_area: str | None = Field(default=None, sa_type=sa.Text)
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class AssessmentForm(SQLModel, table=True):
    __tablename__ = "assessment_forms"

    name: str = Field(primary_key=True, sa_type=sa.Text)
    composition_json: dict[str, int] = _json(dict)
    expires_in_hours: int = Field(default=168, nullable=False)
    # This form's retake cooldown; None uses the RETAKE_COOLDOWN_HOURS setting.
    retake_cooldown_hours: int | None = Field(default=None)
    updated_at: datetime = _created()


class Track(SQLModel, table=True):
    """A track's blueprint (domain/tracks.py): domains_json is [{"domain", "weight"}] in the
    blueprint's own order, which breaks ties between equal weights."""

    __tablename__ = "tracks"

    name: str = Field(primary_key=True, sa_type=sa.Text)
    title: str = Field(sa_type=sa.Text, nullable=False)
    description: str = Field(default="", sa_type=sa.Text, nullable=False)
    domains_json: list[dict[str, Any]] = _json(list)
    updated_at: datetime = _created()


# ---------------------------------------------------------------- assessments


class Assessment(SQLModel, table=True):
    __tablename__ = "assessments"
    __table_args__ = (
        sa.CheckConstraint(_in("status", ASSESSMENT_STATUSES), name="status"),
        sa.Index("idx_assessments_user", "user_id"),
        sa.Index("idx_assessments_status", "status"),
        # A student's attempts at one track and form, newest first: the retake cooldown.
        sa.Index("idx_assessments_user_track_form", "user_id", "track", "form_name", "created_at"),
        # At most one open draft per student and track: a double click cannot create two.
        sa.Index(
            "uq_assessments_one_draft_per_track",
            "user_id",
            "track",
            unique=True,
            postgresql_where=sa.text("status = 'draft'"),
            sqlite_where=sa.text("status = 'draft'"),
        ),
    )

    id: uuid.UUID = _id()
    user_id: uuid.UUID = _fk("users.id")
    track: str = Field(default="general", sa_type=sa.Text, nullable=False)
    # The published form it was started from (domain/retakes.py: the cooldown is per form).
    form_name: str = Field(
        default="default", sa_type=sa.Text, nullable=False,
        sa_column_kwargs={"server_default": "default"},
    )  # fmt: skip
    # An admin's assessment whose composition is not its form's: a try-out, never counted in
    # latest profiles, student filters or analytics, and not a retake.
    custom: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    status: str = Field(default="draft", sa_type=sa.Text, nullable=False)
    composition_json: dict[str, int] = _json(dict)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    degraded: bool = Field(default=False, nullable=False)
    # Set once when the pipeline ran past PIPELINE_SLA_SECONDS (logged and counted once).
    sla_breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AssessmentQuestion(SQLModel, table=True):
    """A snapshot of a bank question inside one assessment: later bank edits never reach it."""

    __tablename__ = "assessment_questions"
    __table_args__ = (
        sa.CheckConstraint(_in("type", QUESTION_TYPES), name="type"),
        sa.Index("idx_aq_assessment", "assessment_id"),
        sa.UniqueConstraint("assessment_id", "order_no", name="uq_aq_assessment_order"),
    )

    id: uuid.UUID = _id()
    assessment_id: uuid.UUID = _fk("assessments.id")
    question_id: uuid.UUID | None = _fk("questions.id", ondelete="SET NULL", nullable=True)
    type: str = Field(sa_type=sa.Text, nullable=False)
    order_no: int = Field(nullable=False)
    domain: str = Field(sa_type=sa.Text, nullable=False)
    prompt_snapshot: str = Field(sa_type=sa.Text, nullable=False)
    options_snapshot: list[dict[str, str]] | None = _json(nullable=True)
    rubric_snapshot: list[dict[str, Any]] | None = _json(nullable=True)
    scale_snapshot: dict[str, Any] | None = _json(nullable=True)
    # The answer key as it was at start: correct option, reference answer, key points,
    # interest area. Never leaves the server before the result.
    answer_key_json: dict[str, Any] = _json(dict)


class AssessmentStage(SQLModel, table=True):
    """One pipeline stage of one assessment: its state, attempts, times and output. A stage that
    is DONE is never run again; its output feeds the next stages after a crash or a retry."""

    __tablename__ = "assessment_stages"
    __table_args__ = (
        sa.CheckConstraint(_in("stage", STAGES), name="stage"),
        sa.CheckConstraint(_in("state", STAGE_STATES), name="state"),
        sa.UniqueConstraint("assessment_id", "stage", name="uq_assessment_stages_stage"),
    )

    id: uuid.UUID = _id()
    assessment_id: uuid.UUID = _fk("assessments.id")
    stage: str = Field(sa_type=sa.Text, nullable=False)
    state: str = Field(default="pending", sa_type=sa.Text, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    output_json: dict[str, Any] | None = _json(nullable=True)


class EssayScore(SQLModel, table=True):
    """Every scoring of an essay answer, kept as history (re-scoring adds rows). The result
    uses the newest row whose answer_hash matches the saved answer."""

    __tablename__ = "essay_scores"
    __table_args__ = (
        sa.CheckConstraint(_in("scored_by", SCORERS), name="scored_by"),
        sa.Index("idx_essay_scores_question", "assessment_question_id", "created_at"),
        sa.Index("idx_essay_scores_assessment", "assessment_id"),
        sa.Index("idx_essay_scores_review", "needs_review", "created_at"),
    )

    id: uuid.UUID = _id()
    assessment_id: uuid.UUID = _fk("assessments.id")
    assessment_question_id: uuid.UUID = _fk("assessment_questions.id")
    answer_hash: str = Field(sa_type=sa.Text, nullable=False)
    score: float = Field(nullable=False)
    rubric_json: list[dict[str, Any]] = _json(list)
    feedback: str | None = Field(default=None, sa_type=sa.Text)
    scored_by: str = Field(sa_type=sa.Text, nullable=False)
    degraded: bool = Field(default=False, nullable=False)
    prompt_version: str = Field(default="", sa_type=sa.Text, nullable=False)
    model: str | None = Field(default=None, sa_type=sa.Text)
    # EssayFlag values the local scorer raised (domain/essay_flags.py).
    flags: list[str] = Field(
        default_factory=list, sa_type=JSONType, nullable=False,
        sa_column_kwargs={"server_default": "[]"},
    )  # fmt: skip
    # The local scorer's second opinion when the LLM made `score`.
    local_score: float | None = Field(default=None)
    # Flagged, or the two scorers disagree by more than ESSAY_REVIEW_THRESHOLD.
    needs_review: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    created_at: datetime = _created()


class EssayScoreOverride(SQLModel, table=True):
    """A human's score for one machine score (who, when, why). The machine row is never
    changed: the result uses the newest override of the essay score it shows."""

    __tablename__ = "essay_score_overrides"
    __table_args__ = (
        sa.CheckConstraint("score >= 0 AND score <= 1", name="score"),
        sa.Index("idx_essay_score_overrides_score", "essay_score_id", "created_at"),
        sa.Index("idx_essay_score_overrides_assessment", "assessment_id"),
    )

    id: uuid.UUID = _id()
    essay_score_id: uuid.UUID = _fk("essay_scores.id")
    assessment_id: uuid.UUID = _fk("assessments.id")
    # Null once the reviewer's account is erased: the override stays, anonymous.
    reviewer_id: uuid.UUID | None = _fk("users.id", ondelete="SET NULL", nullable=True)
    score: float = Field(nullable=False)
    rubric_json: list[dict[str, Any]] | None = _json(nullable=True)
    reason: str = Field(sa_type=sa.Text, nullable=False)
    created_at: datetime = _created()


class Response(SQLModel, table=True):
    __tablename__ = "responses"
    __table_args__ = (
        sa.Index("idx_responses_assessment", "assessment_id"),
        # Re-answering replaces: one response per question.
        sa.UniqueConstraint("assessment_question_id", name="uq_responses_question"),
    )

    id: uuid.UUID = _id()
    assessment_id: uuid.UUID = _fk("assessments.id")
    assessment_question_id: uuid.UUID = _fk("assessment_questions.id")
    answer_text: str | None = Field(default=None, sa_type=sa.Text)
    answer_option: str | None = Field(default=None, sa_type=sa.Text)
    answer_numeric: float | None = Field(default=None, sa_type=sa.Numeric)
    # Rule score of a THEORETICAL answer, computed at answer time, revealed only in the result.
    is_correct: bool | None = Field(default=None)
    submitted_at: datetime = _created()


class Score(SQLModel, table=True):
    __tablename__ = "scores"

    id: uuid.UUID = _id()
    assessment_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="assessments.id", ondelete="CASCADE", unique=True
    )
    theory_score_json: dict[str, Any] = _json(dict)
    profile_signals_json: dict[str, Any] = _json(dict)
    essay_scores_json: dict[str, Any] = _json(dict)
    profile_json: dict[str, Any] = _json(dict)
    # What this result added to the item statistics (domain/item_stats.py Contribution list),
    # so that a re-score replaces it instead of counting the assessment twice. Null for results
    # stored before item statistics existed.
    item_contributions_json: list[dict[str, Any]] | None = _json(nullable=True)
    computed_at: datetime = _created()


class ItemStats(SQLModel, table=True):
    """Sufficient statistics of one bank question over every scored response to it
    (domain/item_stats.py): anonymous sums, no user or assessment ids. `flags_json` holds the
    ItemFlag values as of the last update, so that admins can filter by flag."""

    __tablename__ = "item_stats"

    question_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="questions.id", ondelete="CASCADE", primary_key=True
    )
    n: int = Field(default=0, nullable=False)
    sum_x: float = Field(default=0.0, nullable=False)
    sum_x2: float = Field(default=0.0, nullable=False)
    sum_rest: float = Field(default=0.0, nullable=False)
    sum_rest2: float = Field(default=0.0, nullable=False)
    sum_x_rest: float = Field(default=0.0, nullable=False)
    option_counts_json: dict[str, int] = _json(dict)
    flags_json: list[str] = _json(list)
    updated_at: datetime = _created()


# ---------------------------------------------------------------- catalog and recommendations


class Credential(SQLModel, table=True):
    __tablename__ = "credentials"
    __table_args__ = (
        sa.CheckConstraint(f"level IS NULL OR {_in('level', LEVELS)}", name="level"),
        sa.Index("idx_credentials_active", "active"),
        sa.Index("idx_credentials_tags", "tags", postgresql_using="gin"),
    )

    id: uuid.UUID = _id()
    slug: str = Field(sa_type=sa.Text, nullable=False, unique=True)
    title: str = Field(sa_type=sa.Text, nullable=False)
    provider: str | None = Field(default=None, sa_type=sa.Text)
    tags: list[str] = _json(list)
    domains: list[str] = _json(list)
    level: str | None = Field(default=None, sa_type=sa.Text)
    url: str | None = Field(default=None, sa_type=sa.Text)
    description: str | None = Field(default=None, sa_type=sa.Text)
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class EmbeddingMeta(SQLModel, table=True):
    __tablename__ = "embeddings_meta"
    __table_args__ = (
        sa.Index("idx_embed_credential", "credential_id"),
        sa.Index("idx_embed_collection", "collection"),
        sa.UniqueConstraint(
            "credential_id", "collection", name="uq_embeddings_meta_credential_collection"
        ),
    )

    id: uuid.UUID = _id()
    credential_id: uuid.UUID = _fk("credentials.id")
    embedding_id: str = Field(sa_type=sa.Text, nullable=False)
    model: str = Field(sa_type=sa.Text, nullable=False)
    dim: int = Field(nullable=False)
    collection: str = Field(default="", sa_type=sa.Text, nullable=False)
    content_hash: str = Field(default="", sa_type=sa.Text, nullable=False)
    # How many passages (vectors) of this credential are in the collection.
    chunk_count: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendations"

    id: uuid.UUID = _id()
    assessment_id: uuid.UUID = Field(
        sa_type=sa.Uuid, foreign_key="assessments.id", ondelete="CASCADE", unique=True
    )
    summary_text: str = Field(sa_type=sa.Text, nullable=False)
    degraded: bool = Field(default=False, nullable=False)
    generated_at: datetime = _created()


class RecommendationItem(SQLModel, table=True):
    __tablename__ = "recommendation_items"
    __table_args__ = (
        sa.Index("idx_rec_items_rec", "recommendation_id"),
        sa.UniqueConstraint("recommendation_id", "rank", name="uq_rec_items_rank"),
    )

    id: uuid.UUID = _id()
    recommendation_id: uuid.UUID = _fk("recommendations.id")
    credential_id: uuid.UUID = _fk("credentials.id", ondelete=None)
    rank: int = Field(nullable=False)
    reason_short: str | None = Field(default=None, sa_type=sa.Text)
    fit_score: float = Field(default=0.0, nullable=False)


class RagTrace(SQLModel, table=True):
    __tablename__ = "rag_traces"
    __table_args__ = (sa.Index("idx_rag_traces_rec", "recommendation_id"),)

    id: uuid.UUID = _id()
    recommendation_id: uuid.UUID = _fk("recommendations.id")
    item_id: uuid.UUID = _fk("recommendation_items.id")
    source_title: str | None = Field(default=None, sa_type=sa.Text)
    snippet: str | None = Field(default=None, sa_type=sa.Text)
    source_url: str | None = Field(default=None, sa_type=sa.Text)
    score: float | None = Field(default=None, sa_type=sa.Numeric)


class RecommendationFeedback(SQLModel, table=True):
    __tablename__ = "recommendation_feedback"
    __table_args__ = (
        sa.UniqueConstraint("item_id", "user_id", name="uq_recommendation_feedback_item_user"),
        sa.Index("idx_recommendation_feedback_user", "user_id"),
    )

    id: uuid.UUID = _id()
    item_id: uuid.UUID = _fk("recommendation_items.id")
    user_id: uuid.UUID = _fk("users.id")
    accepted: bool = Field(nullable=False)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created()
    updated_at: datetime = _created()


# ---------------------------------------------------------------- jobs, webhooks, usage, audit


class Job(SQLModel, table=True):
    """The outbox and the truth about background work: written in the request's transaction,
    enqueued to arq after commit with this row's id as the arq job id. arq can lose jobs; this
    table cannot, and the sweeper re-enqueues from it."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint(_in("type", JOB_TYPES), name="type"),
        sa.CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        sa.Index("idx_jobs_assessment", "assessment_id"),
        sa.Index("idx_jobs_status_type", "status", "type"),
    )

    id: uuid.UUID = _id()
    # Null for work that belongs to no assessment (index rebuilds).
    assessment_id: uuid.UUID | None = _fk("assessments.id", nullable=True)
    type: str = Field(sa_type=sa.Text, nullable=False)
    status: str = Field(default="queued", sa_type=sa.Text, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    payload_json: dict[str, Any] = _json(dict)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    # While a worker runs the job it holds a lease and renews it; a lease that ran out means
    # the worker died, and the sweeper hands the job to another.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # How often the sweeper re-enqueued it (part of the arq id of each recovery run).
    recoveries: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = _id()
    url: str = Field(sa_type=sa.Text, nullable=False)
    events_json: list[str] = _json(list)
    # Kept in clear because signing needs it; shown to the admin once, at creation.
    secret: str = Field(sa_type=sa.Text, nullable=False)
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = _created()


class WebhookDelivery(SQLModel, table=True):
    """One row per delivery attempt. event_id is stable across retries (X-Webhook-Id)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("idx_webhook_deliveries_endpoint", "endpoint_id"),
        sa.Index("idx_webhook_deliveries_event", "event_id"),
        sa.Index("idx_webhook_deliveries_time", "created_at"),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", "attempt", name="uq_webhook_deliveries_attempt"
        ),
    )

    id: uuid.UUID = _id()
    endpoint_id: uuid.UUID = _fk("webhook_endpoints.id")
    event_id: uuid.UUID = Field(sa_type=sa.Uuid, nullable=False)
    event_type: str = Field(sa_type=sa.Text, nullable=False)
    payload_json: dict[str, Any] = _json(dict)
    attempt: int = Field(default=1, nullable=False)
    status: str = Field(default="pending", sa_type=sa.Text, nullable=False)
    response_status: int | None = Field(default=None)
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LlmUsage(SQLModel, table=True):
    """Token usage and cost of every LLM call, for the monthly spend cap (NFR5)."""

    __tablename__ = "llm_usage"
    __table_args__ = (sa.Index("idx_llm_usage_month", "month"),)

    id: uuid.UUID = _id()
    # Idempotency key of the call (job id + purpose + attempt): a re-run job never counts twice.
    call_key: str = Field(sa_type=sa.Text, nullable=False, unique=True)
    assessment_id: uuid.UUID | None = _fk("assessments.id", ondelete="SET NULL", nullable=True)
    purpose: str = Field(sa_type=sa.Text, nullable=False)
    model: str = Field(sa_type=sa.Text, nullable=False)
    prompt_tokens: int = Field(default=0, nullable=False)
    completion_tokens: int = Field(default=0, nullable=False)
    cost_usd: float = Field(default=0.0, sa_type=sa.Numeric(12, 6), nullable=False)
    month: str = Field(sa_type=sa.Text, nullable=False)
    created_at: datetime = _created()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("idx_audit_events_actor", "actor"),
        sa.Index("idx_audit_events_action_time", "action", "created_at"),
        sa.Index("idx_audit_events_subject", "subject_id"),
        sa.Index("idx_audit_events_time", "created_at"),
    )

    id: uuid.UUID = _id()
    # Public id of who acted ("usr_..."), "anonymous" or "system".
    actor: str | None = Field(default=None, sa_type=sa.Text)
    action: str | None = Field(default=None, sa_type=sa.Text)
    resource: str | None = Field(default=None, sa_type=sa.Text)
    # The person the event is about (for export and erasure); not a foreign key, so the audit
    # trail outlives the account (anonymised on erasure).
    subject_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid)
    request_id: str | None = Field(default=None, sa_type=sa.Text)
    meta_json: dict[str, Any] | None = _json(nullable=True)
    created_at: datetime = _created()


class Metric(SQLModel, table=True):
    __tablename__ = "metrics"
    __table_args__ = (sa.Index("idx_metrics_name_time", "name", "created_at"),)

    id: uuid.UUID = _id()
    name: str = Field(sa_type=sa.Text, nullable=False)
    value: float = Field(sa_type=sa.Numeric, nullable=False)
    labels: dict[str, Any] | None = _json(nullable=True)
    created_at: datetime = _created()
