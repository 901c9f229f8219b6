"""The database schema: SQLAlchemy 2.0 typed tables for the normalized model and the bot's state.

Alembic migrations in ``storage/migrations`` create and change these tables; a test keeps the two
in step. Datetimes are stored through :class:`UTCDateTime`, which round-trips aware UTC instants on
SQLite (which has no time zones) and on PostgreSQL (``timestamptz``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
TEAM_NAME_MAX_LENGTH = 100
"""The longest team name the tables hold (app.yaml validation refuses longer ones)."""


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store naive datetime {value!r}; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them on SQLite)."""

    metadata = MetaData(naming_convention=NAMING)


def team_column() -> Mapped[str]:
    """The team a record belongs to: every item, history and delivery record is stored per team."""
    return mapped_column(String(TEAM_NAME_MAX_LENGTH))


class ItemRow(Base):
    """A work item (issue or pull request) as one team sees it now.

    Keyed by (team, id): two teams reading one Jira project or repository each keep their own copy,
    with the stages their own workflow gives.
    """

    __tablename__ = "items"
    __table_args__ = (PrimaryKeyConstraint("team", "id"),)

    id: Mapped[str] = mapped_column(Text)
    team: Mapped[str] = team_column()
    source: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    parent_key: Mapped[str | None] = mapped_column(Text)
    story_points: Mapped[float | None] = mapped_column(Float)
    blocked_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str | None] = mapped_column(Text)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_commit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    head_branch: Mapped[str | None] = mapped_column(Text)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    changed_files: Mapped[int | None] = mapped_column(Integer)
    merge_sha: Mapped[str | None] = mapped_column(Text)
    linked_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    releases: Mapped[list[str]] = mapped_column(JSON, default=list)
    due_on: Mapped[date | None] = mapped_column(Date)


class HistoryRow(Base):
    """An item's events, packed (see ``storage.histories``): one row per item of a team.

    A table of its own rather than columns on ``items``: an item row is rewritten on its own
    (a reconciliation marking it removed) without copying its history, and a history is replaced
    as a whole, never edited. On SQLite the rows are stored in key order (``WITHOUT ROWID``), so
    the snapshot's join finds each item's history in one lookup.
    """

    __tablename__ = "histories"
    __table_args__ = (
        PrimaryKeyConstraint("team", "item_id"),
        ForeignKeyConstraint(["team", "item_id"], ["items.team", "items.id"], ondelete="CASCADE"),
        {"sqlite_with_rowid": False},
    )

    team: Mapped[str] = team_column()
    item_id: Mapped[str] = mapped_column(Text)
    transitions: Mapped[bytes] = mapped_column(LargeBinary)
    flags: Mapped[bytes] = mapped_column(LargeBinary)
    reviews: Mapped[bytes] = mapped_column(LargeBinary)


class HistoryStringRow(Base):
    """A text the team's histories hold (status, stage, review state, reviewer) and its code."""

    __tablename__ = "history_strings"
    __table_args__ = (PrimaryKeyConstraint("team", "code"),)

    team: Mapped[str] = team_column()
    code: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(Text)


class DeploymentRow(Base):
    """A deployment and the item ids it shipped, as one team sees it."""

    __tablename__ = "deployments"
    __table_args__ = (PrimaryKeyConstraint("team", "id"),)

    id: Mapped[str] = mapped_column(Text)
    team: Mapped[str] = team_column()
    source: Mapped[str] = mapped_column(String(100))
    environment: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sha: Mapped[str | None] = mapped_column(Text)
    repo: Mapped[str | None] = mapped_column(Text)
    shipped_item_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(Text)
    production: Mapped[bool] = mapped_column(Boolean, default=False)


class PipelineRunRow(Base):
    """A CI pipeline run, as one team sees it."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (PrimaryKeyConstraint("team", "id"),)

    id: Mapped[str] = mapped_column(Text)
    team: Mapped[str] = team_column()
    source: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sha: Mapped[str | None] = mapped_column(Text)


class IncidentRow(Base):
    """A production incident, as one team sees it."""

    __tablename__ = "incidents"
    __table_args__ = (PrimaryKeyConstraint("team", "id"),)

    id: Mapped[str] = mapped_column(Text)
    team: Mapped[str] = team_column()
    source: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urgency: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    deployment_id: Mapped[str | None] = mapped_column(Text)


class PlanRow(Base):
    """A release (fix version, milestone) or saved filter a source read (revision 0013)."""

    __tablename__ = "plans"
    __table_args__ = (PrimaryKeyConstraint("team", "source", "kind", "key"),)

    team: Mapped[str] = team_column()
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    item_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(Text)


class CursorRow(Base):
    """Where a source resumes: saved in the same transaction as the page it follows."""

    __tablename__ = "cursors"

    source_key: Mapped[str] = mapped_column(Text, primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceHealthRow(Base):
    """A source's sync health, reported by ``/vsm status``."""

    __tablename__ = "source_health"

    source_key: Mapped[str] = mapped_column(Text, primary_key=True)
    team: Mapped[str] = team_column()
    source: Mapped[str] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    unmapped_statuses: Mapped[list[str]] = mapped_column(JSON, default=list)


# --- The Slack bot's state: choices made in Slack and what was posted (revision 0002) ---


class SubscriptionRow(Base):
    """A channel's digest subscription, made with ``/vsm subscribe``."""

    __tablename__ = "slack_subscriptions"
    __table_args__ = (
        Index(
            "ux_slack_subscriptions_team_channel_kind", "team", "channel_id", "kind", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(100))
    workspace_id: Mapped[str | None] = mapped_column(String(50))
    channel_id: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10))
    weekday: Mapped[str | None] = mapped_column(String(3))
    at: Mapped[str] = mapped_column(String(5))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MuteRow(Base):
    """A detector muted for a team (``/vsm mute``), until an instant or for good."""

    __tablename__ = "slack_mutes"

    team: Mapped[str] = mapped_column(String(100), primary_key=True)
    detector: Mapped[str] = mapped_column(String(100), primary_key=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertChannelRow(Base):
    """Alerts switched on or off for a team in a channel (``/vsm alerts on|off``)."""

    __tablename__ = "slack_alert_channels"

    team: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    workspace_id: Mapped[str | None] = mapped_column(String(50))
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(50))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertMessageRow(Base):
    """The message posted for a finding in a channel, and what people did with it."""

    __tablename__ = "slack_alerts"
    __table_args__ = (
        Index("ux_slack_alerts_team_channel_key", "team", "channel_id", "dedupe_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[str] = mapped_column(String(50))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    detector: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    finding: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    ts: Mapped[str | None] = mapped_column(String(30))
    thread_ts: Mapped[str | None] = mapped_column(String(30))
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acted_by: Mapped[str | None] = mapped_column(String(50))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SendRow(Base):
    """A scheduled send (digest, overflow summary, admin alert), claimed before it is posted."""

    __tablename__ = "slack_sends"
    __table_args__ = (
        Index("ux_slack_sends_key", "team", "channel_id", "kind", "period", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    ts: Mapped[str | None] = mapped_column(String(30))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempt: Mapped[str | None] = mapped_column(String(32))
    """The claim that may post (a taken-over claim can no longer post)."""
    unsure_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When an attempt that may have reached Slack began (look in the channel before posting)."""


class SeenRequestRow(Base):
    """A signed Slack request already accepted: a replay of it is refused while it is kept."""

    __tablename__ = "slack_seen_requests"

    signature: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PersonPrefRow(Base):
    """A Slack user's own choices: personal DMs on or off (``/vsm me on|off``)."""

    __tablename__ = "slack_person_prefs"

    user_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    dms: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailLookupRow(Base):
    """A cached ``users.lookupByEmail`` answer (``user_id`` None: Slack knows no such user)."""

    __tablename__ = "slack_email_lookups"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(50))
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- Vendor webhooks: deliveries already seen, and each source's webhook health (revision 0012) ---


class WebhookDeliveryRow(Base):
    """A verified webhook delivery, kept a week so a redelivery of it is recognised."""

    __tablename__ = "webhook_deliveries"

    source: Mapped[str] = mapped_column(Text, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebhookHealthRow(Base):
    """A team's source as its webhooks see it: last arrival and what the reconciliation found."""

    __tablename__ = "webhook_health"

    source_key: Mapped[str] = mapped_column(Text, primary_key=True)
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_records: Mapped[int] = mapped_column(Integer, default=0)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fallback_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Scopes a team tracks from Slack (``/vsm track``), beside app.yaml's (revision 0013) ---


class TrackedScopeRow(Base):
    """A scope a team started tracking at runtime: forecast in reports, watched for risk."""

    __tablename__ = "tracked_scopes"
    __table_args__ = (PrimaryKeyConstraint("team", "kind", "key"),)

    team: Mapped[str] = team_column()
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(100))
    target: Mapped[date | None] = mapped_column(Date)
    added_by: Mapped[str | None] = mapped_column(String(50))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


ITEMS = cast(Table, ItemRow.__table__)
HISTORIES = cast(Table, HistoryRow.__table__)
DEPLOYMENTS = cast(Table, DeploymentRow.__table__)
PIPELINE_RUNS = cast(Table, PipelineRunRow.__table__)
INCIDENTS = cast(Table, IncidentRow.__table__)
CURSORS = cast(Table, CursorRow.__table__)
PLANS = cast(Table, PlanRow.__table__)
"""The record tables as Core ``Table`` objects, for the bulk statements of pages and snapshots."""
