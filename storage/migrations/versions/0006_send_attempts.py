"""Sends carry their attempt and since when a post may have reached Slack unconfirmed.

``attempt`` identifies the claim that may post (a process whose claim was taken over cannot
post); ``unsure_since`` is when an attempt that may have reached Slack began: before posting
again the bot looks for the send's key in the channel from then on. Sends left ``posting`` or
``unknown`` by earlier versions are looked for from their claim on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slack_sends") as batch:
        batch.add_column(sa.Column("attempt", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("unsure_since", sa.DateTime(timezone=True), nullable=True))
    sends = sa.table(
        "slack_sends",
        sa.column("state", sa.String),
        sa.column("claimed_at", sa.DateTime(timezone=True)),
        sa.column("unsure_since", sa.DateTime(timezone=True)),
    )
    op.execute(
        sends.update()
        .where(sends.c.state.in_(("posting", "unknown")))
        .values(unsure_since=sends.c.claimed_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("slack_sends") as batch:
        batch.drop_column("unsure_since")
        batch.drop_column("attempt")
