"""Indexes on the times that retention deletes by (refresh token expiry, webhook delivery and
audit event age), so the sweeper's purge never scans a whole table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("idx_refresh_tokens_expiry", "refresh_tokens", "expires_at"),
    ("idx_webhook_deliveries_time", "webhook_deliveries", "created_at"),
    ("idx_audit_events_time", "audit_events", "created_at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
