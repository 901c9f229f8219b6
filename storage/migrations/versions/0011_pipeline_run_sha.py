"""The commit each pipeline run built (``pipeline_runs.sha``), for the traceability findings.

A deployment whose commit no successful run built is a gap (``unverified_deployment``). Runs
stored before this revision keep ``sha`` NULL: unknown, never evidence of a gap. The downgrade
drops the column and the commits with it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.add_column(sa.Column("sha", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.drop_column("sha")
