"""What the bot keeps about people: who asked for personal DMs, and cached e-mail lookups.

Personal DMs are opt-in (``/vsm me on``): nobody gets one until they said so, and ``off`` stops
them. E-mail lookups (``users.lookupByEmail``) are cached with the instant they were made, so a
mention costs no Slack call while the answer is fresh; an answer of "no such user" is cached too.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, select

from storage.db import conflict_insert
from storage.tables import EmailLookupRow, PersonPrefRow

PREFS = cast(Table, PersonPrefRow.__table__)
LOOKUPS = cast(Table, EmailLookupRow.__table__)


def set_personal_dms(engine: Engine, user_id: str, on: bool, now: datetime) -> None:
    """Switch ``user_id``'s personal DMs on or off."""
    with engine.begin() as conn:
        statement = conflict_insert(conn, PREFS)
        statement = statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"dms": statement.excluded.dms, "changed_at": statement.excluded.changed_at},
        )
        conn.execute(statement, {"user_id": user_id, "dms": on, "changed_at": now})


def personal_dms_on(engine: Engine, user_id: str) -> bool:
    """True when ``user_id`` asked for personal DMs (and has not switched them off since)."""
    with engine.connect() as conn:
        row = conn.execute(select(PREFS.c.dms).where(PREFS.c.user_id == user_id)).first()
    return bool(row is not None and row.dms)


def users_with_dms(engine: Engine) -> set[str]:
    """Every Slack user who asked for personal DMs."""
    with engine.connect() as conn:
        return {row.user_id for row in conn.execute(select(PREFS.c.user_id).where(PREFS.c.dms))}


def cached_lookup(engine: Engine, email: str) -> tuple[str | None, datetime] | None:
    """The cached answer for ``email`` (user id or None) and when it was looked up."""
    with engine.connect() as conn:
        row = conn.execute(
            select(LOOKUPS.c.user_id, LOOKUPS.c.looked_up_at).where(
                LOOKUPS.c.email == email.casefold()
            )
        ).first()
    return None if row is None else (row.user_id, row.looked_up_at)


def save_lookup(engine: Engine, email: str, user_id: str | None, now: datetime) -> None:
    """Cache the answer for ``email`` (``user_id`` None: Slack has no user with it)."""
    with engine.begin() as conn:
        statement = conflict_insert(conn, LOOKUPS)
        statement = statement.on_conflict_do_update(
            index_elements=["email"],
            set_={
                "user_id": statement.excluded.user_id,
                "looked_up_at": statement.excluded.looked_up_at,
            },
        )
        conn.execute(
            statement, {"email": email.casefold(), "user_id": user_id, "looked_up_at": now}
        )
