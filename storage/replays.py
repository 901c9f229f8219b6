"""Signatures of the signed Slack requests already accepted, shared by every process.

A signed request stays valid while its timestamp is within five minutes of the clock, so a copy
of it could be replayed to any ``vsm serve`` process on the same database, or to one restarted.
Each accepted signature is inserted here, and the insert is the atomic check: a signature that is
already present is a replay. Rows are kept for ten minutes after they were seen (a request
stamped five minutes ahead stays valid that long), then purged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, delete

from storage.db import conflict_insert
from storage.tables import SeenRequestRow

SEEN_REQUESTS = cast(Table, SeenRequestRow.__table__)
WINDOW = timedelta(minutes=5)
"""How far a request's timestamp may be from the clock (Slack's rule)."""
KEEP = 2 * WINDOW
"""How long after it was seen a signature may still be valid, so is kept."""


def first_sighting(engine: Engine, signature: str, now: datetime) -> bool:
    """Record ``signature`` as seen at ``now``: True the first time, False for a replay.

    Signatures seen more than :data:`KEEP` before ``now`` are purged in the same transaction
    (one commit per request; the ``seen_at`` index keeps the purge cheap).
    """
    with engine.begin() as conn:
        conn.execute(delete(SEEN_REQUESTS).where(SEEN_REQUESTS.c.seen_at < now - KEEP))
        statement = (
            conflict_insert(conn, SEEN_REQUESTS)
            .on_conflict_do_nothing(index_elements=["signature"])
            .returning(SEEN_REQUESTS.c.signature)
        )
        row = conn.execute(statement, {"signature": signature, "seen_at": now}).first()
    return row is not None
