"""The App Home tab, per person: their teams, what needs them, and how to get started.

A viewer's teams are those whose channels they are a member of (the app.yaml ``channel``, and
the channels where the team's digests are subscribed or its alerts switched on), found with one
``users.conversations`` call per viewer, remembered for :data:`MEMBERSHIP_FRESH`; plus the teams
whose data names them (:func:`~bot.slack.answering.render_me.my_work`). "Needs you" lists their
items that need them, as ``/vsm me`` does. Each team's headline figures carry a "Why?" button
(:data:`~bot.slack.ids.EXPLAIN`). A viewer with no team sees how to get started.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlalchemy import Engine

from bot.config import TeamConfig
from bot.slack import ids
from bot.slack.answering.answers import Answers
from bot.slack.answering.blocks import (
    MAX_VIEW_BLOCKS,
    button,
    context,
    divider,
    escape,
    fit,
    header,
    list_sections,
    section,
    slack_date,
)
from bot.slack.answering.render import ago, days
from bot.slack.answering.render_me import MyWork, me_line, not_mapped_text
from insights.report import Digest
from storage.slack_settings import Subscription, load_alert_channels, load_subscriptions

log = logging.getLogger(__name__)
VIEW_CHARS = 24_000
MEMBERSHIP_FRESH = timedelta(minutes=10)
"""How long a viewer's channel memberships are reused before Slack is asked again."""
NEEDS_SHOWN = 8
CHANNEL_TYPES = "public_channel,private_channel"
MEMBERSHIP_PAGE = 200
"""Channels per ``users.conversations`` page (Slack recommends at most 200)."""


class ViewerChannels:
    """The channels each viewer is a member of (``users.conversations``), remembered a while."""

    def __init__(self, fresh_for: timedelta = MEMBERSHIP_FRESH) -> None:
        self.fresh_for = fresh_for
        self._seen: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def of(self, client: WebClient, user_id: str, now: datetime) -> frozenset[str]:
        """``user_id``'s channels as of ``now``; the last known ones (or none) if Slack fails."""
        with self._lock:
            seen = self._seen.get(user_id)
        if seen is not None and now - seen[0] < self.fresh_for:
            return seen[1]
        try:
            pages = client.users_conversations(  # iterating follows the cursor
                user=user_id, types=CHANNEL_TYPES, exclude_archived=True, limit=MEMBERSHIP_PAGE
            )
            channels = frozenset(str(c["id"]) for page in pages for c in page.get("channels", []))
        except (SlackClientError, OSError) as exc:
            log.warning("users.conversations for the Home tab failed: %s", type(exc).__name__)
            return seen[1] if seen is not None else frozenset()
        with self._lock:
            self._seen[user_id] = (now, channels)
        return channels


def team_channels(
    engine: Engine, team: TeamConfig, resolve: Callable[[str], str | None]
) -> set[str]:
    """The ids of the team's channels: app.yaml's, subscribed ones and alert channels."""
    channels = {s.channel_id for s in load_subscriptions(engine, team.name)}
    channels |= {a.channel_id for a in load_alert_channels(engine, team.name) if a.enabled}
    if team.channel:
        try:
            configured = resolve(team.channel)
        except (SlackClientError, OSError) as exc:
            log.warning("resolving %s failed: %s", team.channel, type(exc).__name__)
            configured = None
        if configured is not None:
            channels.add(configured)
    return channels


def viewer_teams(
    engine: Engine,
    teams: Sequence[TeamConfig],
    member_of: Collection[str],
    named: Collection[TeamConfig],
    resolve: Callable[[str], str | None],
) -> list[TeamConfig]:
    """The teams of a viewer: named in their data, or with a channel the viewer is in."""
    return [
        t
        for t in teams
        if t in named or (member_of and team_channels(engine, t, resolve) & set(member_of))
    ]


@dataclass(frozen=True)
class TeamOverview:
    """What the Home tab shows for one team."""

    team: TeamConfig
    digest: Digest
    last_sync: datetime | None
    failing_sources: int
    subscriptions: Sequence[Subscription]


def team_overview(answers: Answers, team: TeamConfig, now: datetime) -> TeamOverview:
    """Gather one team's overview."""
    health = answers.health(team)
    successes = [h.last_success_at for h in health if h.last_success_at is not None]
    return TeamOverview(
        team=team,
        digest=answers.digest(team, now),
        last_sync=max(successes) if successes else None,
        failing_sources=sum(1 for h in health if h.consecutive_failures),
        subscriptions=load_subscriptions(answers.engine, team.name),
    )


def _schedule(team: TeamConfig, subscriptions: Sequence[Subscription]) -> str:
    parts = []
    if team.digest.daily:
        parts.append(f"daily {team.digest.daily}")
    if team.digest.weekly:
        parts.append(f"weekly {team.digest.weekly}")
    parts += [
        f"{s.kind} {s.weekday + ' ' if s.weekday else ''}{s.at} in <#{s.channel_id}>"
        for s in subscriptions
    ]
    return ", ".join(parts) if parts else "none (`/vsm subscribe digest daily 09:30`)"


def _figure(label: str, value: str, metric: str, team: str, window: int | None = None) -> Any:
    """A headline figure with its "Why?" button (the items behind it, how it is computed)."""
    why = button("Why?", ids.EXPLAIN, ids.explain_value(metric, team, window))
    return section(f"*{label}*  {value}", accessory=why)


def _team_blocks(o: TeamOverview, now: datetime) -> list[Any]:
    d, name = o.digest, o.team.name
    limit = f" of {d.wip_limit}" if d.wip_limit else ""
    sync = (
        "never" if o.last_sync is None else f"{slack_date(o.last_sync)} ({ago(now, o.last_sync)})"
    )
    if o.failing_sources:
        sync += f" · :red_circle: {o.failing_sources} source(s) failing"
    channel = escape(o.team.channel) if o.team.channel else "no channel"
    return [
        divider(),
        section(f"*{escape(name)}* · {channel} · {o.team.timezone}"),
        _figure("WIP", f"{d.wip}{limit}", "wip", name),
        _figure(
            f"Finished in {d.window_days} days",
            str(d.throughput),
            "throughput_items",
            name,
            d.window_days,
        ),
        _figure(
            "Cycle time p85", days(d.cycle_time_seconds_p85), "cycle_time", name, d.window_days
        ),
        context(
            f"Aging {len(d.aging)} · Blocked {len(d.blocked)}",
            f"Last sync: {sync}",
            f"Digests: {_schedule(o.team, o.subscriptions)}",
        ),
    ]


def _needs_you(work: MyWork, now: datetime, show_team: bool) -> list[Any]:
    if not work.needs:
        return [section("*Needs you*\nNothing needs you right now. :tada:")]
    lines = [me_line(i, now, show_team) for i in work.needs[:NEEDS_SHOWN]]
    blocks: list[Any] = [section(f"*Needs you ({len(work.needs)})* · oldest first")]
    blocks += list_sections(lines)
    if len(work.needs) > NEEDS_SHOWN:
        blocks.append(context(f"and {len(work.needs) - NEEDS_SHOWN} more: `{ids.COMMAND} me`."))
    return blocks


def _getting_started(work: MyWork) -> list[Any]:
    text = (
        "*Welcome to vsm-bot.* Here I show your teams' flow and what needs you. I don't see you "
        "in any team yet: join your team's channel (where I post its digests and alerts)"
    )
    if work.mapped:
        return [section(text + ".")]
    return [
        section(text + ", or get mapped to your names in the team's tools."),
        section(not_mapped_text(work.user_id)),
    ]


def render_home(
    overviews: Sequence[TeamOverview], now: datetime, work: MyWork | None = None
) -> dict[str, Any]:
    """The Home tab view: what needs the viewer (``work``), then each of their teams."""
    blocks: list[Any] = [header("vsm-bot · your teams and what needs you")]
    if work is not None and not overviews:
        blocks += _getting_started(work)
    elif work is not None:
        blocks += (
            _needs_you(work, now, show_team=len(overviews) > 1)
            if work.mapped
            else [section(not_mapped_text(work.user_id))]
        )
    for overview in overviews:
        blocks += _team_blocks(overview, now)
    blocks.append(context(f"Updated {slack_date(now)} · `/vsm help` lists every command."))
    message = fit("vsm-bot overview", blocks, max_blocks=MAX_VIEW_BLOCKS, max_chars=VIEW_CHARS)
    return {"type": "home", "blocks": [b.to_dict() for b in message.blocks]}


def publish_home(
    answers: Answers,
    client: WebClient,
    user_id: str,
    teams: Sequence[TeamConfig],
    work: MyWork,
    now: datetime,
) -> None:
    """Build the viewer's Home tab (``teams`` are theirs) and publish it."""
    view = render_home([team_overview(answers, t, now) for t in teams], now, work)
    client.views_publish(user_id=user_id, view=view)
