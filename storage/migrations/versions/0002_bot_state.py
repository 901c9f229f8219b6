"""The Slack bot's state: subscriptions, mutes, alert channels, alert messages and claimed sends.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "slack_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("workspace_id", sa.String(length=50), nullable=True),
        sa.Column("channel_id", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("weekday", sa.String(length=3), nullable=True),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_subscriptions")),
    )
    with op.batch_alter_table("slack_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ux_slack_subscriptions_team_channel_kind", ["team", "channel_id", "kind"], unique=True
        )

    op.create_table(
        "slack_mutes",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("detector", sa.String(length=100), nullable=False),
        _when("until", nullable=True),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("team", "detector", name=op.f("pk_slack_mutes")),
    )

    op.create_table(
        "slack_alert_channels",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("channel_id", sa.String(length=50), nullable=False),
        sa.Column("workspace_id", sa.String(length=50), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=50), nullable=False),
        _when("changed_at"),
        sa.PrimaryKeyConstraint("team", "channel_id", name=op.f("pk_slack_alert_channels")),
    )

    op.create_table(
        "slack_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("channel_id", sa.String(length=50), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("detector", sa.String(length=100), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("finding", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.String(length=30), nullable=True),
        sa.Column("thread_ts", sa.String(length=30), nullable=True),
        _when("posted_at", nullable=True),
        _when("first_seen_at"),
        _when("last_seen_at"),
        _when("resolved_at", nullable=True),
        _when("snoozed_until", nullable=True),
        sa.Column("acted_by", sa.String(length=50), nullable=True),
        _when("acted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_alerts")),
    )
    with op.batch_alter_table("slack_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ux_slack_alerts_team_channel_key", ["team", "channel_id", "dedupe_key"], unique=True
        )

    op.create_table(
        "slack_sends",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("channel_id", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.String(length=30), nullable=True),
        _when("claimed_at"),
        _when("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_sends")),
    )
    with op.batch_alter_table("slack_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ux_slack_sends_key", ["team", "channel_id", "kind", "period"], unique=True
        )


def downgrade() -> None:
    for table, index in (
        ("slack_sends", "ux_slack_sends_key"),
        ("slack_alerts", "ux_slack_alerts_team_channel_key"),
        ("slack_subscriptions", "ux_slack_subscriptions_team_channel_kind"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
        op.drop_table(table)
    op.drop_table("slack_alert_channels")
    op.drop_table("slack_mutes")
