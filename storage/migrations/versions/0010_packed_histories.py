"""Each item's events become one packed history, their texts a dictionary per team.

Transitions, flags and reviews were one row per event: a million rows for a large team, each
repeating its status and stage names. They become one ``histories`` row per item, keyed (team,
item_id), holding three little-endian numpy record arrays (see ``storage.histories``): instants
as integer microseconds since the Unix epoch, texts (statuses, stages, review states, reviewers)
as int32 codes into the team's ``history_strings``, -1 for none. Every stored event is converted
here, in the order of its ``seq``, and the row tables are dropped. The downgrade unpacks the
histories into rows again.

The layouts are written out here rather than imported, so that this revision keeps converting to
the format it created whatever the code becomes later.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

TEAM_LENGTH = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
NONE = -1
BATCH = 1000
LAYOUTS = {
    "transitions": np.dtype(
        [
            ("at", "<i8"),
            ("from_status", "<i4"),
            ("to_status", "<i4"),
            ("from_stage", "<i4"),
            ("to_stage", "<i4"),
        ]
    ),
    "flags": np.dtype([("at", "<i8"), ("flagged", "u1"), ("inferred", "u1")]),
    "reviews": np.dtype([("at", "<i8"), ("state", "<i4"), ("reviewer", "<i4")]),
}
"""Each kind's packed record; every field after ``at`` is a text code but the flags' two."""
TEXTS = {
    "transitions": ("from_status", "to_status", "from_stage", "to_stage"),
    "flags": (),
    "reviews": ("state", "reviewer"),
}
KINDS = tuple(LAYOUTS)


def _event_table(kind: str) -> sa.TableClause:
    """The row table of ``kind`` as revision 0009 has it."""
    texts = [sa.column(name, sa.Text()) for name in TEXTS[kind]]
    values = texts or [sa.column("flagged", sa.Boolean()), sa.column("inferred", sa.Boolean())]
    return sa.table(
        kind,
        sa.column("team", sa.String()),
        sa.column("item_id", sa.Text()),
        sa.column("seq", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        *values,
    )


HISTORIES = sa.table(
    "histories",
    sa.column("team", sa.String()),
    sa.column("item_id", sa.Text()),
    *(sa.column(kind, sa.LargeBinary()) for kind in KINDS),
)
STRINGS = sa.table(
    "history_strings",
    sa.column("team", sa.String()),
    sa.column("code", sa.Integer()),
    sa.column("value", sa.Text()),
)


def _micros(at: datetime) -> int:
    """An event's instant (naive UTC on SQLite) as microseconds since the Unix epoch."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return (aware - EPOCH) // MICROSECOND


def _instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def upgrade() -> None:
    op.create_table(
        "history_strings",
        sa.Column("team", sa.String(length=TEAM_LENGTH), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("team", "code", name=op.f("pk_history_strings")),
    )
    op.create_table(
        "histories",
        sa.Column("team", sa.String(length=TEAM_LENGTH), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        *(sa.Column(kind, sa.LargeBinary(), nullable=False) for kind in KINDS),
        sa.ForeignKeyConstraint(
            ["team", "item_id"],
            ["items.team", "items.id"],
            name=op.f("fk_histories_team_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team", "item_id", name=op.f("pk_histories")),
        sqlite_with_rowid=False,
    )
    _pack_every_history(op.get_bind())
    for kind in KINDS:
        op.drop_table(kind)


def _pack_every_history(bind: sa.Connection) -> None:
    """Pack the stored events of every item into ``histories``, texts into ``history_strings``."""
    dictionaries: dict[str, dict[str | None, int]] = {}
    packed: dict[tuple[str, str], dict[str, bytes]] = {}
    for kind in KINDS:
        for (team, item_id), rows in _events_by_item(bind, kind):
            codes = dictionaries.setdefault(team, {None: NONE})
            packed.setdefault((team, item_id), {})[kind] = _pack(kind, rows, codes)
    histories = [
        {"team": team, "item_id": item_id, **{kind: blobs.get(kind, b"") for kind in KINDS}}
        for (team, item_id), blobs in packed.items()
    ]
    strings = [
        {"team": team, "code": code, "value": value}
        for team, codes in dictionaries.items()
        for value, code in codes.items()
        if value is not None
    ]
    for rows, table in ((strings, STRINGS), (histories, HISTORIES)):
        for start in range(0, len(rows), BATCH):
            bind.execute(table.insert(), rows[start : start + BATCH])


def _events_by_item(bind: sa.Connection, kind: str) -> Iterator[tuple[Any, Iterator[Any]]]:
    """The ``kind`` rows of each item, in ``seq`` order, streamed."""
    table = _event_table(kind)
    query = sa.select(table).order_by(table.c.team, table.c.item_id, table.c.seq)
    return groupby(bind.execute(query.execution_options(yield_per=10_000)), key=itemgetter(0, 1))


def _pack(kind: str, rows: Iterator[Any], codes: dict[str | None, int]) -> bytes:
    """One item's ``kind`` rows (team, item_id, seq, at, fields...) as packed records."""
    texts = len(TEXTS[kind])
    records = []
    for row in rows:
        values = row[4:]
        if texts:
            values = tuple(codes.setdefault(value, len(codes) - 1) for value in values)
        records.append((_micros(row.at), *values))
    return np.array(records, LAYOUTS[kind]).tobytes()


def downgrade() -> None:
    for kind in KINDS:
        _create_event_table(kind)
    bind = op.get_bind()
    texts = _dictionaries(bind)
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for history in bind.execute(sa.select(HISTORIES)):
        for kind in KINDS:
            rows[kind].extend(_unpack(kind, history, texts.get(history.team, {})))
    for kind in KINDS:
        for start in range(0, len(rows[kind]), BATCH):
            bind.execute(_event_table(kind).insert(), rows[kind][start : start + BATCH])
    op.drop_table("histories")
    op.drop_table("history_strings")


def _create_event_table(kind: str) -> None:
    columns = {
        "transitions": [
            sa.Column("from_status", sa.Text(), nullable=True),
            sa.Column("to_status", sa.Text(), nullable=False),
            sa.Column("from_stage", sa.String(length=20), nullable=True),
            sa.Column("to_stage", sa.String(length=20), nullable=False),
        ],
        "flags": [
            sa.Column("flagged", sa.Boolean(), nullable=False),
            sa.Column("inferred", sa.Boolean(), server_default=sa.false(), nullable=False),
        ],
        "reviews": [
            sa.Column("state", sa.String(length=30), nullable=False),
            sa.Column("reviewer", sa.Text(), nullable=True),
        ],
    }
    op.create_table(
        kind,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(length=TEAM_LENGTH), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *columns[kind],
        sa.ForeignKeyConstraint(
            ["team", "item_id"],
            ["items.team", "items.id"],
            name=op.f(f"fk_{kind}_team_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{kind}")),
    )
    op.create_index(f"ux_{kind}_team_item_seq", kind, ["team", "item_id", "seq"], unique=True)


def _dictionaries(bind: sa.Connection) -> dict[str, dict[int, str | None]]:
    texts: dict[str, dict[int, str | None]] = {}
    for team, code, value in bind.execute(sa.select(STRINGS)):
        texts.setdefault(team, {})[code] = value
    return texts


def _unpack(kind: str, history: Any, texts: dict[int, str | None]) -> Iterator[dict[str, Any]]:
    """The rows of one history's ``kind`` events."""
    layout = LAYOUTS[kind]
    for seq, record in enumerate(np.frombuffer(getattr(history, kind), layout).tolist()):
        at, *values = record
        if TEXTS[kind]:
            values = [None if code == NONE else texts[code] for code in values]
        else:
            values = [bool(value) for value in values]
        named = dict(zip(layout.names[1:], values, strict=True))
        yield {"team": history.team, "item_id": history.item_id, "seq": seq,
               "at": _instant(at), **named}  # fmt: skip
