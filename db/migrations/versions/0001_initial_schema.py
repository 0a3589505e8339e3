"""Initial schema: the original relational schema plus auth, advisors, forms, webhooks, feedback and LLM
usage. Reviewed by hand after autogenerate; runs on PostgreSQL and SQLite.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:58:41.971917+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL, JSON text on SQLite; timestamps carry their zone (UTC).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assessment_forms",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("composition_json", JSON, nullable=False),
        sa.Column("expires_in_hours", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_assessment_forms")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("resource", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("meta_json", JSON, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "idx_audit_events_action_time", "audit_events", ["action", "created_at"], unique=False
    )
    op.create_index("idx_audit_events_actor", "audit_events", ["actor"], unique=False)
    op.create_index("idx_audit_events_subject", "audit_events", ["subject_id"], unique=False)
    op.create_table(
        "credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("domains", JSON, nullable=False),
        sa.Column("level", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "level IS NULL OR level IN ('beginner', 'intermediate', 'advanced')",
            name=op.f("ck_credentials_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("slug", name=op.f("uq_credentials_slug")),
    )
    op.create_index("idx_credentials_active", "credentials", ["active"], unique=False)
    op.create_index(
        "idx_credentials_tags", "credentials", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("labels", JSON, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index("idx_metrics_name_time", "metrics", ["name", "created_at"], unique=False)
    op.create_table(
        "questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("tracks_json", JSON, nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=True),
        sa.Column("options_json", JSON, nullable=True),
        sa.Column("rules_json", JSON, nullable=True),
        sa.Column("rubric_json", JSON, nullable=True),
        sa.Column("reference_answer", sa.Text(), nullable=True),
        sa.Column("key_points_json", JSON, nullable=True),
        sa.Column("scale_json", JSON, nullable=True),
        sa.Column("interest_area", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "type IN ('theory', 'essay', 'profile')", name=op.f("ck_questions_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint("key", name=op.f("uq_questions_key")),
    )
    op.create_index("idx_questions_active_type", "questions", ["active", "type"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("interests_json", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("role IN ('student', 'advisor', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("idx_users_email", "users", ["email"], unique=False)
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events_json", JSON, nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "advisor_assignments",
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["advisor_id"],
            ["users.id"],
            name=op.f("fk_advisor_assignments_advisor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_advisor_assignments_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", name=op.f("pk_advisor_assignments")),
    )
    op.create_index(
        "idx_advisor_assignments_advisor", "advisor_assignments", ["advisor_id"], unique=False
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("composition_json", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'queued', 'processing', 'done', 'failed', 'expired')",
            name=op.f("ck_assessments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_assessments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index("idx_assessments_status", "assessments", ["status"], unique=False)
    op.create_index("idx_assessments_user", "assessments", ["user_id"], unique=False)
    op.create_index(
        "uq_assessments_one_draft_per_track",
        "assessments",
        ["user_id", "track"],
        unique=True,
        postgresql_where=sa.text("status = 'draft'"),
        sqlite_where=sa.text("status = 'draft'"),
    )
    op.create_table(
        "embeddings_meta",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("embedding_id", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("collection", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_embeddings_meta_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embeddings_meta")),
        sa.UniqueConstraint("credential_id", "model", name="uq_embeddings_meta_credential_model"),
    )
    op.create_index("idx_embed_credential", "embeddings_meta", ["credential_id"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("issued_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("rotated_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index("idx_refresh_tokens_family", "refresh_tokens", ["family_id"], unique=False)
    op.create_index("idx_refresh_tokens_user", "refresh_tokens", ["user_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload_json", JSON, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", "attempt", name="uq_webhook_deliveries_attempt"
        ),
    )
    op.create_index(
        "idx_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id"], unique=False
    )
    op.create_index(
        "idx_webhook_deliveries_event", "webhook_deliveries", ["event_id"], unique=False
    )
    op.create_table(
        "assessment_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("order_no", sa.Integer(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("prompt_snapshot", sa.Text(), nullable=False),
        sa.Column("options_snapshot", JSON, nullable=True),
        sa.Column("rubric_snapshot", JSON, nullable=True),
        sa.Column("scale_snapshot", JSON, nullable=True),
        sa.Column("answer_key_json", JSON, nullable=False),
        sa.CheckConstraint(
            "type IN ('theory', 'essay', 'profile')", name=op.f("ck_assessment_questions_type")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_questions_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_assessment_questions_question_id_questions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_questions")),
        sa.UniqueConstraint("assessment_id", "order_no", name="uq_aq_assessment_order"),
    )
    op.create_index("idx_aq_assessment", "assessment_questions", ["assessment_id"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("payload_json", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'done', 'failed')", name=op.f("ck_jobs_status")
        ),
        sa.CheckConstraint(
            "type IN ('pipeline', 'essay', 'gpt', 'rag', 'fusion', 'rag_index', 'webhook', 'rescore')",
            name=op.f("ck_jobs_type"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_jobs_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("idx_jobs_assessment", "jobs", ["assessment_id"], unique=False)
    op.create_index("idx_jobs_status_type", "jobs", ["status", "type"], unique=False)
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_key", sa.Text(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("month", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_llm_usage_assessment_id_assessments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_usage")),
        sa.UniqueConstraint("call_key", name=op.f("uq_llm_usage_call_key")),
    )
    op.create_index("idx_llm_usage_month", "llm_usage", ["month"], unique=False)
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("generated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_recommendations_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint("assessment_id", name=op.f("uq_recommendations_assessment_id")),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("theory_score_json", JSON, nullable=False),
        sa.Column("profile_signals_json", JSON, nullable=False),
        sa.Column("essay_scores_json", JSON, nullable=False),
        sa.Column("profile_json", JSON, nullable=False),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_scores_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint("assessment_id", name=op.f("uq_scores_assessment_id")),
    )
    op.create_table(
        "recommendation_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recommendation_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reason_short", sa.Text(), nullable=True),
        sa.Column("fit_score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_recommendation_items_credential_id_credentials"),
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_recommendation_items_recommendation_id_recommendations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_items")),
        sa.UniqueConstraint("recommendation_id", "rank", name="uq_rec_items_rank"),
    )
    op.create_index(
        "idx_rec_items_rec", "recommendation_items", ["recommendation_id"], unique=False
    )
    op.create_table(
        "responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_question_id", sa.Uuid(), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answer_option", sa.Text(), nullable=True),
        sa.Column("answer_numeric", sa.Numeric(), nullable=True),
        sa.Column("is_correct", sa.Boolean(), nullable=True),
        sa.Column("submitted_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_responses_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assessment_question_id"],
            ["assessment_questions.id"],
            name=op.f("fk_responses_assessment_question_id_assessment_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sa.UniqueConstraint("assessment_question_id", name="uq_responses_question"),
    )
    op.create_index("idx_responses_assessment", "responses", ["assessment_id"], unique=False)
    op.create_table(
        "rag_traces",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recommendation_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("source_title", sa.Text(), nullable=True),
        sa.Column("snippet", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("score", sa.Numeric(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["recommendation_items.id"],
            name=op.f("fk_rag_traces_item_id_recommendation_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_rag_traces_recommendation_id_recommendations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rag_traces")),
    )
    op.create_index("idx_rag_traces_rec", "rag_traces", ["recommendation_id"], unique=False)
    op.create_table(
        "recommendation_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["recommendation_items.id"],
            name=op.f("fk_recommendation_feedback_item_id_recommendation_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recommendation_feedback_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_feedback")),
        sa.UniqueConstraint("item_id", "user_id", name="uq_recommendation_feedback_item_user"),
    )
    op.create_index(
        "idx_recommendation_feedback_user", "recommendation_feedback", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("idx_recommendation_feedback_user", table_name="recommendation_feedback")
    op.drop_table("recommendation_feedback")
    op.drop_index("idx_rag_traces_rec", table_name="rag_traces")
    op.drop_table("rag_traces")
    op.drop_index("idx_responses_assessment", table_name="responses")
    op.drop_table("responses")
    op.drop_index("idx_rec_items_rec", table_name="recommendation_items")
    op.drop_table("recommendation_items")
    op.drop_table("scores")
    op.drop_table("recommendations")
    op.drop_index("idx_llm_usage_month", table_name="llm_usage")
    op.drop_table("llm_usage")
    op.drop_index("idx_jobs_status_type", table_name="jobs")
    op.drop_index("idx_jobs_assessment", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("idx_aq_assessment", table_name="assessment_questions")
    op.drop_table("assessment_questions")
    op.drop_index("idx_webhook_deliveries_event", table_name="webhook_deliveries")
    op.drop_index("idx_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("idx_refresh_tokens_user", table_name="refresh_tokens")
    op.drop_index("idx_refresh_tokens_family", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("idx_embed_credential", table_name="embeddings_meta")
    op.drop_table("embeddings_meta")
    op.drop_index(
        "uq_assessments_one_draft_per_track",
        table_name="assessments",
        postgresql_where=sa.text("status = 'draft'"),
        sqlite_where=sa.text("status = 'draft'"),
    )
    op.drop_index("idx_assessments_user", table_name="assessments")
    op.drop_index("idx_assessments_status", table_name="assessments")
    op.drop_table("assessments")
    op.drop_index("idx_advisor_assignments_advisor", table_name="advisor_assignments")
    op.drop_table("advisor_assignments")
    op.drop_table("webhook_endpoints")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_index("idx_users_email", table_name="users")
    op.drop_table("users")
    op.drop_index("idx_questions_active_type", table_name="questions")
    op.drop_table("questions")
    op.drop_index("idx_metrics_name_time", table_name="metrics")
    op.drop_table("metrics")
    op.drop_index("idx_credentials_tags", table_name="credentials", postgresql_using="gin")
    op.drop_index("idx_credentials_active", table_name="credentials")
    op.drop_table("credentials")
    op.drop_index("idx_audit_events_subject", table_name="audit_events")
    op.drop_index("idx_audit_events_actor", table_name="audit_events")
    op.drop_index("idx_audit_events_action_time", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("assessment_forms")
