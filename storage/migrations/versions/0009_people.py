"""People in Slack: personal-DM choices and cached e-mail lookups.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_person_prefs",
        sa.Column("user_id", sa.String(length=50), nullable=False),
        sa.Column("dms", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_slack_person_prefs")),
    )
    op.create_table(
        "slack_email_lookups",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.String(length=50), nullable=True),
        sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_slack_email_lookups")),
    )


def downgrade() -> None:
    op.drop_table("slack_email_lookups")
    op.drop_table("slack_person_prefs")
