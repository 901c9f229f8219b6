"""Vendor webhooks: the deliveries already seen (dedupe) and each source's webhook health.

``webhook_deliveries`` holds one row per verified delivery for a week, unique on (source,
delivery id), so a redelivered webhook is recognised. ``webhook_health`` holds, per team's
source, when a webhook last arrived and what the latest reconciliation pull found that the
webhooks had missed. The downgrade drops both: nothing else refers to them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "delivery_id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_received_at"),
        "webhook_deliveries",
        ["received_at"],
        unique=False,
    )
    op.create_table(
        "webhook_health",
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_records", sa.Integer(), nullable=False),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fallback_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_webhook_health")),
    )


def downgrade() -> None:
    op.drop_table("webhook_health")
    op.drop_index(op.f("ix_webhook_deliveries_received_at"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
