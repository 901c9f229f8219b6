"""Block Kit for ``/vsm trace KEY``: one item's journey across tools, in one message.

Top down: the item (linked key, title, status) and what its journey cost (lead time, the part
worked on); one line per step of the stream with its time and, for a step it mostly waited
through, an hourglass and "waiting"; the longest wait called out; the pull requests, deployments
and incidents as links; the items it is blocked by (naming another team's) and the other teams'
items it blocks; then the journey itself, one line per event. A long journey keeps its first and
last events and says how many were left out in between, so the message always fits Slack's
limits. Every vendor word is escaped and only
http(s) links are made (:mod:`bot.slack.answering.blocks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.answering.blocks import (
    SECTION_CHARS,
    Message,
    clip,
    context,
    escape,
    fit,
    header,
    link,
    section,
    slack_date,
)
from insights.detectors.support.wording import duration
from insights.stream_events import DEPLOYED, INCIDENT, PR_OPENED
from insights.trace import BlockedItem, BlockingItem, MissingStep, Trace, TraceSpan, span_cost
from insights.trace_events import TraceEvent

WAITING = ":hourglass_flowing_sand:"
HERE_NOW = ":round_pushpin:"
LABEL_CHARS = 150
"""A journey line's words at most (an incident's title can be long)."""
LINKS_SHOWN = 8
"""Pull requests, deployments and incidents linked at most."""
JOURNEY_CHARS = SECTION_CHARS
"""The journey fits one section."""
LINKED_EVENTS = (PR_OPENED, DEPLOYED, INCIDENT)
"""The events whose record the links line names (each pull request, deployment, incident)."""


def render_trace(trace: Trace) -> Message:
    """The journey of ``trace``'s item: steps, waits, links, blockers and events."""
    blocks: list[Any] = [
        header(f"Trace · {trace.team}"),  # vendor words only in escaped mrkdwn
        section(_summary(trace)),
    ]
    if trace.spans:
        blocks.append(section("\n".join(_step_line(span) for span in trace.spans)))
    else:
        blocks.append(section("_No step of the stream yet._"))
    notes = [_biggest_wait(trace), _missing(trace.missing_steps), _links(trace.events)]
    notes.append(_blockers(trace.blocked_by, trace.team))
    notes.append(_blocks(trace.blocks))
    blocks.extend(section(note) for note in notes if note)
    blocks.append(section(_journey(trace.events)))
    blocks.append(
        context(
            f"As of {slack_date(trace.now)} · {WAITING} a step it mostly waited through · "
            "work is the time someone worked on it"
        )
    )
    return fit(_fallback(trace), blocks)


def render_trace_not_found(key: str, team: str) -> Message:
    """No item ``key`` in ``team``'s data (both may be anything a person typed)."""
    text = (
        f"No item {clip(key, 80)} in the data of {team}. Give an issue key such as PAY-12, or a "
        "pull request linked to one, such as acme/api#7."
    )
    shown = (
        f"No item `{escape(clip(key, 80))}` in the data of *{escape(team)}*. Give an issue key "
        "such as `PAY-12`, or a pull request linked to one, such as `acme/api#7`."
    )
    return fit(text, [section(shown)])


def _summary(trace: Trace) -> str:
    """The linked key and title, its status, and what the journey cost so far."""
    item = f"{link(trace.url, trace.key)} {escape(trace.title)}\n_{escape(trace.status)}_"
    if not trace.spans:
        return item
    share = f" ({trace.process_seconds / trace.lead_seconds:.0%})" if trace.lead_seconds else ""
    so_far = "" if trace.finished else " so far"
    return (
        f"{item} · lead time {duration(trace.lead_seconds)}{so_far}, "
        f"work {duration(trace.process_seconds)}{share}"
    )


def _step_line(span: TraceSpan) -> str:
    """``• *In progress* 2.1 days (work 1.8 days)``: a wait marked, the open step as current."""
    icon = WAITING if span.waiting else "•"
    here = f" {HERE_NOW} _here now_" if span.end is None else ""
    return f"{icon} *{escape(span.name)}* {span_cost(span)}{here}"


def _biggest_wait(trace: Trace) -> str | None:
    """The step it waited longest in, and its share of the lead time."""
    span = trace.biggest_wait
    if span is None:
        return None
    share = f" ({span.wait_seconds / trace.lead_seconds:.0%} of the lead time)"
    return (
        f"{WAITING} Longest wait: *{escape(span.name)}*, {duration(span.wait_seconds)} "
        f"without anyone working on it{share if trace.lead_seconds else ''}."
    )


def _missing(missing: Sequence[MissingStep]) -> str | None:
    """The steps it does not have, each with its reason."""
    if not missing:
        return None
    parts = ", ".join(f"{escape(step.name)} ({escape(step.reason)})" for step in missing)
    return f"_Not in this journey:_ {parts}"


def _links(events: Sequence[TraceEvent]) -> str | None:
    """Each pull request, deployment and incident of the journey once, as a link."""
    named: dict[str, str] = {}
    for event in events:
        if event.event in LINKED_EVENTS and event.subject:
            named.setdefault(event.subject, link(event.url, clip(event.subject, 60)))
    if not named:
        return None
    shown = list(named.values())
    more = f" and {len(shown) - LINKS_SHOWN} more" if len(shown) > LINKS_SHOWN else ""
    return "*Links:* " + " · ".join(shown[:LINKS_SHOWN]) + more


def _blockers(blockers: Sequence[BlockingItem], team: str) -> str | None:
    """The items it is blocked by, naming the team of each that is another team's."""
    if not blockers:
        return None
    parts = []
    for blocker in blockers:
        facts = []
        if blocker.team is not None and blocker.team != team:
            facts.append(f"team *{escape(blocker.team)}*")
        facts.append(escape(blocker.status) if blocker.status else "status unknown here")
        parts.append(f"{link(blocker.url, blocker.key)} ({', '.join(facts)})")
    return ":no_entry: Blocked by " + ", ".join(parts)


def _blocks(blocked: Sequence[BlockedItem]) -> str | None:
    """The other teams' items it blocks: ``Blocks: PAY-12 (team payments, In Progress)``."""
    if not blocked:
        return None
    parts = [
        f"{link(item.url, clip(item.key, 60))} (team *{escape(item.team)}*, "
        f"{escape(clip(item.status, 60))})"
        for item in blocked[:LINKS_SHOWN]
    ]
    more = f" and {len(blocked) - LINKS_SHOWN} more" if len(blocked) > LINKS_SHOWN else ""
    return ":construction: Blocks: " + ", ".join(parts) + more


def _journey(events: Sequence[TraceEvent]) -> str:
    """``*Journey*`` and one line per event; the middle is left out, and counted, to fit."""
    lines = ["*Journey*", *(_event_line(event) for event in events)]
    text = "\n".join(lines)
    if len(text) <= JOURNEY_CHARS:
        return text
    sizes = [len(line) + 1 for line in lines]
    budget = JOURNEY_CHARS - len(f"_… {len(lines)} more events_")
    head, tail, used = 1, 0, sizes[0]
    while head + tail < len(lines):  # take lines from both ends, alternately, while they fit
        take_head = head <= tail
        size = sizes[head] if take_head else sizes[len(lines) - 1 - tail]
        if used + size > budget:
            break
        used += size
        head, tail = (head + 1, tail) if take_head else (head, tail + 1)
    gap = f"_… {len(lines) - head - tail} more events_"
    return clip("\n".join([*lines[:head], gap, *lines[len(lines) - tail :]]), JOURNEY_CHARS)


def _event_line(event: TraceEvent) -> str:
    """``25 Nov 14:02 acme/api#7 opened by ana`` (the links line links the records)."""
    return f"{slack_date(event.at, '{date_short} {time}')} {escape(clip(event.label, LABEL_CHARS))}"


def _fallback(trace: Trace) -> str:
    """The notification text: the item, its status, lead time and longest wait."""
    text = f"Trace of {trace.key} {trace.title}: {trace.status}"
    if trace.spans:
        text += f", lead time {duration(trace.lead_seconds)}"
    wait = trace.biggest_wait
    if wait is not None:
        text += f", longest wait {wait.name} {duration(wait.wait_seconds)}"
    return text
