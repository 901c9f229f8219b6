"""The App Home tab: an overview of every team, published per user when they open it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.config import TeamConfig
from bot.slack.answering.answers import Answers
from bot.slack.answering.blocks import (
    MAX_VIEW_BLOCKS,
    context,
    divider,
    escape,
    fields,
    fit,
    header,
    section,
    slack_date,
)
from bot.slack.answering.render import ago, days
from insights.report import Digest
from storage.slack_settings import Subscription, load_subscriptions

VIEW_CHARS = 24_000


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


def render_home(overviews: Sequence[TeamOverview], now: datetime) -> dict[str, Any]:
    """The Home tab view."""
    blocks: list[Any] = [header("vsm-bot · where your teams' work waits")]
    for o in overviews:
        d = o.digest
        limit = f" of {d.wip_limit}" if d.wip_limit else ""
        sync = (
            "never"
            if o.last_sync is None
            else f"{slack_date(o.last_sync)} ({ago(now, o.last_sync)})"
        )
        if o.failing_sources:
            sync += f" · :red_circle: {o.failing_sources} source(s) failing"
        channel = escape(o.team.channel) if o.team.channel else "no channel"
        blocks += [
            divider(),
            section(f"*{escape(o.team.name)}* · {channel} · {o.team.timezone}"),
            fields(
                [
                    ("WIP", f"{d.wip}{limit}"),
                    ("Cycle time p85", days(d.cycle_time_seconds_p85)),
                    ("Aging", str(len(d.aging))),
                    ("Blocked", str(len(d.blocked))),
                ]
            ),
            context(f"Last sync: {sync}"),
            context(f"Digests: {_schedule(o.team, o.subscriptions)}"),
        ]
    blocks.append(context(f"Updated {slack_date(now)} · `/vsm help` lists every command."))
    message = fit("vsm-bot overview", blocks, max_blocks=MAX_VIEW_BLOCKS, max_chars=VIEW_CHARS)
    return {"type": "home", "blocks": [b.to_dict() for b in message.blocks]}


def publish_home(
    answers: Answers, client: WebClient, user_id: str, teams: Sequence[TeamConfig], now: datetime
) -> None:
    """Build the overview and publish it to ``user_id``'s Home tab."""
    view = render_home([team_overview(answers, t, now) for t in teams], now)
    client.views_publish(user_id=user_id, view=view)
