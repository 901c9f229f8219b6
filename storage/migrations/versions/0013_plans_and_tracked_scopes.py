"""Scopes beyond epics and labels: releases, saved filters, due dates, scopes tracked at runtime.

``items`` gains ``releases`` (an issue's Jira fix versions, a pull request's milestone) and
``due_on`` (Jira ``duedate``); rows stored before this revision get no releases and no due date
until their source reads them again (the next reconciliation rewrites every item). ``plans`` holds
each release's date and each saved filter's matching issues, as the sources read them.
``tracked_scopes`` holds the scopes a team tracks from Slack (``/vsm track``) beside app.yaml's.
The downgrade drops the tables and the columns, and what they held with them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


ITEM_COLUMNS = ("due_on", "releases")


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch copy: on SQLite a batch recreates ``items``, and dropping
    # the old table would cascade to every item's history (``histories`` refers to it).
    op.add_column(
        "items", sa.Column("releases", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )
    op.add_column("items", sa.Column("due_on", sa.Date(), nullable=True))
    op.create_table(
        "plans",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("item_keys", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("team", "source", "kind", "key", name=op.f("pk_plans")),
    )
    op.create_table(
        "tracked_scopes",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("target", sa.Date(), nullable=True),
        sa.Column("added_by", sa.String(length=50), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team", "kind", "key", name=op.f("pk_tracked_scopes")),
    )


def downgrade() -> None:
    op.drop_table("tracked_scopes")
    op.drop_table("plans")
    for column in ITEM_COLUMNS:  # SQLite 3.35+ drops a column in place (no batch copy, as above)
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE items DROP COLUMN {column}")
        else:
            op.drop_column("items", column)
