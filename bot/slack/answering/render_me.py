"""One person's work: ``/vsm me`` and the "Needs you" part of their App Home.

A merged finding (:meth:`~bot.slack.answering.answers.Answers.subjects`) needs a person when the
:class:`~bot.people.People` mapping of its ``people`` (the assignee, the requested reviewers or
the author) includes their Slack user id. Those come oldest first: by the time since the subject
started (a work item's start, else its creation; a pull request's opening), worded in the team's
working time. "Also yours" lists the person's other open items and pull requests, where nothing
was found wrong. Private by design: a person sees their own items, and nothing here counts or
ranks people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import TeamConfig
from bot.people import People, names_in
from bot.slack import ids
from bot.slack.answering.answers import Answers
from bot.slack.answering.blocks import (
    Message,
    context,
    escape,
    fit,
    header,
    link,
    list_sections,
    section,
)
from bot.working_time import working_age
from insights.findings import Finding
from insights.metrics.flow_items import item_timelines
from insights.model import ItemKind, Snapshot, Stage, WorkItem

NEEDS_SHOWN = 20
ALSO_SHOWN = 10


@dataclass(frozen=True)
class MyItem:
    """An item or pull request of one person; ``finding`` says why it needs them (None: open)."""

    team: TeamConfig
    key: str
    title: str
    url: str | None
    since: datetime | None
    finding: Finding | None = None


@dataclass(frozen=True)
class MyWork:
    """What one person has on their plate across the teams."""

    user_id: str
    needs: list[MyItem]
    """Items whose merged finding names the person, oldest first."""
    also: list[MyItem]
    """The person's other open items and pull requests, oldest first."""
    teams: list[TeamConfig]
    """The teams whose data names the person (as assignee, author or reviewer)."""
    mapped: bool
    """Whether any name in the teams' tools (or a ``people:`` entry) is known to be theirs."""


def my_work(
    answers: Answers, people: People, teams: Sequence[TeamConfig], user_id: str, now: datetime
) -> MyWork:
    """What needs ``user_id`` in ``teams`` as of ``now``, and their other open work."""
    needs: list[MyItem] = []
    also: list[MyItem] = []
    named: list[TeamConfig] = []
    for team in teams:
        snapshot = answers.snapshot(team)
        mine = {n.casefold() for n in names_in(snapshot) if people.match(n).slack_user == user_id}
        if not mine:
            continue
        named.append(team)
        since = _since(snapshot)
        covered: set[str] = set()
        for finding in answers.subjects(team, now):
            if finding.people and user_id in people.slack_users(finding.people):
                subject = finding.subject
                needs.append(
                    MyItem(team, subject, finding.title, finding.url, since.get(subject), finding)
                )
                covered.update((subject, *finding.item_keys))
        also += [
            MyItem(team, item.key, item.title, item.url, since.get(item.key))
            for item in _open_items(snapshot, now)
            if item.key not in covered and (_owner(item) or "").casefold() in mine
        ]
    configured = any(p.slack == user_id for p in people.people)
    return MyWork(
        user_id,
        sorted(needs, key=lambda i: _age_order(i, now)),
        sorted(also, key=lambda i: _age_order(i, now)),
        named,
        configured or bool(named),
    )


def _age_order(item: MyItem, now: datetime) -> tuple[datetime, str, str]:
    """Oldest first; then by team and key, so the order is stable."""
    return item.since or now, item.team.name, item.key


def _since(snapshot: Snapshot) -> dict[str, datetime]:
    """When each item started (its creation when it never did, or is no flow item)."""
    since = {item.key: item.created_at for item in snapshot.items}
    since.update(
        (t.item.key, t.started_at) for t in item_timelines(snapshot) if t.started_at is not None
    )
    return since


def _open_items(snapshot: Snapshot, now: datetime) -> list[WorkItem]:
    """Items and pull requests in progress (not in the backlog, not finished) at ``now``."""
    return [
        item
        for item in snapshot.items
        if item.removed_at is None
        and not item.stage.finished
        and item.stage is not Stage.BACKLOG
        and item.created_at <= now
    ]


def _owner(item: WorkItem) -> str | None:
    """Whose an open item is: a pull request's author, an issue's assignee."""
    if item.kind is ItemKind.PULL_REQUEST:
        return item.author or item.assignee
    return item.assignee


def me_line(item: MyItem, now: datetime, show_team: bool) -> str:
    """One item: the linked key, why it needs the person, what to do, its age in working time."""
    reason = item.finding.title if item.finding is not None else item.title
    rest = reason.removeprefix(item.key) if reason.startswith(item.key) else f": {reason}"
    line = f"• {link(item.url, item.key)}{escape(rest)}"
    if item.finding is not None:
        line += f" → {escape(item.finding.action)}"
    notes = [escape(item.team.name)] if show_team else []
    if item.since is not None:
        notes.append(f"{working_age(item.since, now, item.team)} old")
    return line + (f" _({' · '.join(notes)})_" if notes else "")


def not_mapped_text(user_id: str) -> str:
    """How a person gets mapped to their names in the team's tools (mrkdwn)."""
    return (
        "I don't know which names in your team's tools are yours yet, so I can't tell what "
        "needs you. Ask whoever runs vsm-bot to add you under `people:` in app.yaml: your name, "
        f"your Slack id `{escape(user_id)}` and your names in Jira, GitHub or GitLab. Or give just "
        "your `email:` (the one you use in Slack, with the `users:read.email` scope granted) "
        "and I will find you by e-mail."
    )


def render_me(work: MyWork, now: datetime, dms_on: bool, show_team: bool) -> Message:
    """The ``/vsm me`` answer: what needs the person, oldest first, then their other open work."""
    blocks: list[Any] = [header("What needs you")]
    if not work.mapped:
        blocks.append(section(not_mapped_text(work.user_id)))
        return fit("I don't know which names are yours yet", blocks)
    if work.needs:
        blocks.append(section(f"*Needs you ({len(work.needs)})* · oldest first"))
        blocks += list_sections([me_line(i, now, show_team) for i in work.needs[:NEEDS_SHOWN]])
        if len(work.needs) > NEEDS_SHOWN:
            blocks.append(context(f"and {len(work.needs) - NEEDS_SHOWN} more."))
    else:
        blocks.append(section("Nothing needs you right now. :tada:"))
    if work.also:
        blocks.append(section(f"*Also yours ({len(work.also)})* · open, nothing found wrong"))
        blocks += list_sections([me_line(i, now, show_team) for i in work.also[:ALSO_SHOWN]])
        if len(work.also) > ALSO_SHOWN:
            blocks.append(context(f"and {len(work.also) - ALSO_SHOWN} more."))
    switch = "off" if dms_on else "on"
    blocks.append(
        context(
            "Ages are in working time (each team's working hours). "
            f"Personal DMs are {'on' if dms_on else 'off'}: `{ids.COMMAND} me {switch}` to switch."
        )
    )
    return fit(f"{len(work.needs)} item(s) need you", blocks)


def render_dms_switched(on: bool) -> Message:
    """The confirmation of ``/vsm me on|off``."""
    if on:
        text = (
            "Done: I will send you a direct message when one of your items or pull requests "
            f"needs you. `{ids.COMMAND} me off` stops them."
        )
    else:
        text = (
            "Done: no more personal direct messages from me. Your items still show in "
            f"`{ids.COMMAND} me` and in my Home tab; `{ids.COMMAND} me on` switches DMs back on."
        )
    return Message(text=text, blocks=[section(text)])
