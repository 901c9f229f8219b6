"""Records are kept per team, and columns holding vendor text are unbounded.

Items, deployments, pipeline runs and incidents were keyed by id alone, so when two teams read one
source (a Jira project, a repository, a CSV file) the last team to sync overwrote the other's copy
and its reconciliation removed the other's items. They are now keyed by (team, id), and the events
(transitions, flags, reviews) carry their item's team. Rows stored before keep the team they were
stored with. Vendor text (keys, statuses, names, branches) was capped at 20 to 300 characters,
which PostgreSQL enforces: those columns become ``text``.

The downgrade keeps one copy of a record several teams hold (the first team by name), and fails
on PostgreSQL if a stored text is longer than its former cap.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

EVENTS = ("transitions", "flags", "reviews")
RECORDS = ("deployments", "pipeline_runs", "incidents")
TEAM_LENGTH = 100
VENDOR_TEXT = {
    "items": {
        "id": 300,
        "key": 200,
        "type": 100,
        "status": 200,
        "assignee": 200,
        "priority": 50,
        "parent_key": 200,
        "author": 200,
        "head_branch": 300,
        "merge_sha": 64,
    },
    "transitions": {"item_id": 300, "from_status": 200, "to_status": 200},
    "flags": {"item_id": 300},
    "reviews": {"item_id": 300, "reviewer": 200},
    "deployments": {"id": 300, "environment": 100, "sha": 64, "repo": 300},
    "pipeline_runs": {"id": 300, "name": 300, "branch": 300},
    "incidents": {"id": 300, "urgency": 20, "deployment_id": 300},
    "cursors": {"source_key": 200},
    "source_health": {"source_key": 200, "source": 100},
}
"""The columns that hold vendor (or free configuration) text, with the cap each had before."""


def _unbound(batch: BatchOperations, table: str) -> None:
    for column, length in VENDOR_TEXT[table].items():
        batch.alter_column(column, existing_type=sa.String(length), type_=sa.Text())


def _bound(batch: BatchOperations, table: str) -> None:
    for column, length in VENDOR_TEXT[table].items():
        batch.alter_column(column, existing_type=sa.Text(), type_=sa.String(length))


def _key_by(batch: BatchOperations, table: str, *columns: str) -> None:
    batch.drop_constraint(f"pk_{table}", type_="primary")
    batch.create_primary_key(f"pk_{table}", list(columns))


def upgrade() -> None:
    # Events first lose their link to items.id (on SQLite, items can only be rebuilt once nothing
    # refers to it), and learn their item's team.
    for table in EVENTS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("team", sa.String(TEAM_LENGTH), nullable=True))
            batch.drop_constraint(f"fk_{table}_item_id_items", type_="foreignkey")
            batch.drop_index(f"ux_{table}_item_seq")
        op.execute(
            f"UPDATE {table} SET team = "
            f"(SELECT items.team FROM items WHERE items.id = {table}.item_id)"
        )
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_team")  # the key (team, id) serves the team's lookups
        _key_by(batch, "items", "team", "id")
        _unbound(batch, "items")
    for table in EVENTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("team", existing_type=sa.String(TEAM_LENGTH), nullable=False)
            _unbound(batch, table)
            batch.create_foreign_key(
                f"fk_{table}_team_items",
                "items",
                ["team", "item_id"],
                ["team", "id"],
                ondelete="CASCADE",
            )
            batch.create_index(f"ux_{table}_team_item_seq", ["team", "item_id", "seq"], unique=True)
    for table in RECORDS:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_team")
            _key_by(batch, table, "team", "id")
            _unbound(batch, table)
    for table in ("cursors", "source_health"):
        with op.batch_alter_table(table) as batch:
            _unbound(batch, table)


def _keep_one_copy(table: str) -> None:
    """Delete every copy of a record but the first team's (by name): ids are unique again."""
    op.execute(
        f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {table} AS other "
        f"WHERE other.id = {table}.id AND other.team < {table}.team)"
    )


def downgrade() -> None:
    for table in ("cursors", "source_health"):
        with op.batch_alter_table(table) as batch:
            _bound(batch, table)
    for table in RECORDS:
        _keep_one_copy(table)
        with op.batch_alter_table(table) as batch:
            _bound(batch, table)
            _key_by(batch, table, "id")
            batch.create_index(f"ix_{table}_team", ["team"], unique=False)
    _keep_one_copy("items")  # and, by cascade, the other copies' events
    for table in EVENTS:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ux_{table}_team_item_seq")
            batch.drop_constraint(f"fk_{table}_team_items", type_="foreignkey")
    with op.batch_alter_table("items") as batch:
        _bound(batch, "items")
        _key_by(batch, "items", "id")
        batch.create_index("ix_items_team", ["team"], unique=False)
    for table in EVENTS:
        with op.batch_alter_table(table) as batch:
            _bound(batch, table)
            batch.drop_column("team")
            batch.create_foreign_key(
                f"fk_{table}_item_id_items", "items", ["item_id"], ["id"], ondelete="CASCADE"
            )
            batch.create_index(f"ux_{table}_item_seq", ["item_id", "seq"], unique=True)
