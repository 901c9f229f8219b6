"""Trace: one item's journey as a Gantt chart, one bar per step of the value stream.

Each step the item went through is a bar on a time axis, from the event that began it to the
event that ended it (to now, for the step it is in). The solid part is the time someone worked
on it (its process time, drawn from the step's start: the chart shows how much, not exactly
when); the hatched part is the wait. Below the bars, the journey's events are markers by tool
(board, code review, delivery, incidents), the milestones labelled and drawn as faint lines
across the bars, so a team sees at a glance where the item waited and what happened then.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple

from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter, date2num
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    FONT,
    GREEN,
    INK,
    LIGHT_GREY,
    MUTED,
    NOTE_SIZE,
    ORANGE,
    TICK_SIZE,
    VERMILLION,
    Chart,
    Header,
    axes_size_points,
    date_axis,
    local_naive,
    new_figure,
    note,
    plain,
    plural,
)
from insights.detectors.support.wording import duration
from insights.stream_events import (
    APPROVED,
    COMMITTED,
    CREATED,
    DEPLOYED,
    DONE,
    INCIDENT,
    MERGED,
    PR_OPENED,
    STATUS_PREFIX,
    is_status_event,
)
from insights.trace import Trace, TraceSpan, project_teams, span_cost, trace_item
from insights.trace_events import (
    CHANGES_REQUESTED,
    COMMENTED,
    FLAGGED,
    PR_CLOSED,
    READY_FOR_REVIEW,
    REVIEW_REQUESTED,
    UNFLAGGED,
    TraceEvent,
)
from insights.value_stream import StreamStep, resolve_steps, workflow_of

BAR_HEIGHT = 0.42
LANE = "events"
TITLE_CHARS = 70
"""The item's title in the subtitle, at most."""
LABEL_LEVELS = 3
"""Rows of milestone labels under the events lane."""
LABEL_GAP_PT = 6.0
SHORT_DAYS = 4
"""A journey shorter than this has its time axis labelled with hours too."""


@dataclass(frozen=True)
class Marker:
    """How a kind of event is drawn in the events lane."""

    group: str
    marker: str
    colour: str
    milestone: str | None = None
    """The label of a milestone (labelled, with a line across the bars); None: a detail."""


BOARD = Marker("board", "o", MUTED)
REVIEW = Marker("code review", "^", BLUE)
MARKERS = {
    CREATED: Marker("board", "o", MUTED, "created"),
    COMMITTED: BOARD,
    FLAGGED: Marker("board", "h", ORANGE),
    UNFLAGGED: Marker("board", "h", LIGHT_GREY),
    DONE: Marker("board", "s", INK, "done"),
    PR_OPENED: Marker("code review", "^", BLUE, "PR opened"),
    REVIEW_REQUESTED: REVIEW,
    READY_FOR_REVIEW: REVIEW,
    COMMENTED: REVIEW,
    APPROVED: REVIEW,
    CHANGES_REQUESTED: Marker("code review", "v", VERMILLION),
    MERGED: Marker("code review", "D", BLUE, "merged"),
    PR_CLOSED: Marker("code review", "v", MUTED),
    DEPLOYED: Marker("delivery", "P", GREEN, "deployed"),
    INCIDENT: Marker("incident", "X", VERMILLION, "incident"),
}
"""Each event kind's marker; status entries are :data:`BOARD`."""
STATUS = "status"
MILESTONE_ORDER = (INCIDENT, DEPLOYED, MERGED, DONE, STATUS, PR_OPENED, CREATED)
"""Which milestone keeps its label when labels crowd: the rarer first (``status``: a status
entry, labelled with the status)."""
STATUS_CHARS = 18
LANES = {"board": 0.24, "code review": 0.08, "delivery": -0.08, "incident": -0.24}
"""Each group's height in the events lane, so markers of different tools never hide each other."""
GROUP_STYLE = {
    "board": ("o", MUTED),
    "code review": ("^", BLUE),
    "delivery": ("P", GREEN),
    "incident": ("X", VERMILLION),
}


class Milestone(NamedTuple):
    """A labelled event: its rank in :data:`MILESTONE_ORDER`, where, its word and colour."""

    rank: int
    x: float
    word: str
    colour: str


def draw_trace(request: ChartRequest) -> Chart:
    """The journey of ``request.item_key``; ValueError when the team has no such item."""
    key = request.item_key
    if not key:
        raise ValueError("a trace is of one item: name it, e.g. trace PAY-12")
    trace = trace_item(
        request.snapshot,
        key,
        team_steps(request),
        request.now,
        teams_by_project=project_teams([request.team]),
    )
    if trace is None:
        raise ValueError(
            f"team {request.team.name} has no item {key!r}: give an issue key such as PAY-12, "
            "or a pull request linked to one"
        )
    title = textwrap.shorten(f"{trace.title} ({trace.status})", TITLE_CHARS, placeholder="…")
    header = request.header(f"Trace of {trace.key}", title)
    return plot_trace(trace, header, request.dpi, tz=request.tz)


def team_steps(request: ChartRequest) -> tuple[StreamStep, ...]:
    """The team's value stream: its ``value_stream:`` steps, else the default for its data."""
    snapshot = request.snapshot
    return resolve_steps(snapshot, workflow_of(snapshot), request.team.stream_steps())


def plot_trace(trace: Trace, header: Header, dpi: int = 100, *, tz: tzinfo | None = None) -> Chart:
    """Draw ``trace``: a bar per step (work solid, wait hatched), the events underneath.

    Times are drawn as wall-clock time in ``tz`` (the team's zone; UTC when None).
    """
    zone = tz or trace.now.tzinfo
    assert zone is not None  # trace.now is aware
    figure, (ax,) = new_figure(header, dpi)
    spans = trace.spans
    rows = len(spans) + 1  # the events lane is the bottom row
    first, last = _extent(trace)
    pad = max(last - first, timedelta(hours=12)) * 0.03
    ax.set_xlim(local_naive(first - pad, zone), local_naive(last + pad, zone))
    ax.set_ylim(-0.55 - LABEL_LEVELS * 0.42, rows - 0.35)
    longest = trace.biggest_wait
    for row, span in enumerate(spans):
        _bar(ax, span, rows - 1 - row, trace.now, zone, longest=span is longest)
    _events_lane(ax, trace.events, zone)
    if not trace.finished:
        _now_line(ax, trace.now, zone)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.yaxis.grid(False)
    ax.xaxis.grid(True, color="#EEEEEE", linewidth=1.0)
    date_axis(ax)
    if last - first < timedelta(days=SHORT_DAYS):
        ax.xaxis.set_major_formatter(DateFormatter("%d %b %H:%M"))  # ticks within a day
    if not spans:
        note(ax, "No step of the value stream yet: only its events so far.")
    _legend(ax, {MARKERS.get(event.event, BOARD).group for event in trace.events})
    return Chart(figure, header, _alt_text(trace, header))


def _extent(trace: Trace) -> tuple[datetime, datetime]:
    """From the first event (or step start) to the last one, or now for an unfinished item."""
    instants = [e.at for e in trace.events] + [s.start for s in trace.spans]
    instants += [s.end or trace.now for s in trace.spans]
    if not trace.finished:
        instants.append(trace.now)
    return min(instants), max(instants)


def _bar(ax: Axes, span: TraceSpan, y: float, now: datetime, tz: tzinfo, *, longest: bool) -> None:
    """One step: the wait hatched over its whole length, the work solid from its start."""
    start = date2num(local_naive(span.start, tz))
    end = date2num(local_naive(span.end or now, tz))
    work = (end - start) * (span.process_seconds / span.lead_seconds if span.lead_seconds else 0)
    ax.barh(
        y,
        max(end - start, 0.0),
        left=start,
        height=BAR_HEIGHT,
        facecolor="#FBE9D0",
        edgecolor=VERMILLION if longest else ORANGE,
        hatch="///",
        linewidth=2.0 if longest else 1.2,
        linestyle="--" if span.end is None else "-",
        zorder=3,
    )
    if work > 0:
        ax.barh(y, work, left=start, height=BAR_HEIGHT, color=BLUE, linewidth=0, zorder=4)
    ax.text(
        0.005,
        y + BAR_HEIGHT / 2 + 0.06,
        plain(_span_label(span) + ("  \N{LEFTWARDS ARROW} longest wait" if longest else "")),
        transform=blended_transform_factory(ax.transAxes, ax.transData),
        ha="left",
        va="bottom",
        fontsize=NOTE_SIZE,
        fontweight="bold" if span.waiting else "normal",
        color=VERMILLION if longest else INK,
        family=FONT,
        zorder=5,
    )


def _span_label(span: TraceSpan) -> str:
    """``In progress: 2.1 days (work 1.8 days)``."""
    return f"{span.name}: {span_cost(span)}"


def _events_lane(ax: Axes, events: Sequence[TraceEvent], tz: tzinfo) -> None:
    """The events as markers on the bottom row; milestones labelled and lined across."""
    ax.text(
        0.005,
        0.4,
        "Events",
        transform=blended_transform_factory(ax.transAxes, ax.transData),
        ha="left",
        va="bottom",
        fontsize=NOTE_SIZE,
        color=MUTED,
        family=FONT,
    )
    milestones: dict[tuple[float, str], Milestone] = {}
    for event in events:
        style = MARKERS.get(event.event, BOARD)
        x = date2num(local_naive(event.at, tz))
        ax.plot(
            [x],
            [LANES[style.group]],
            marker=style.marker,
            color=style.colour,
            markersize=11,
            markeredgecolor="white",
            markeredgewidth=0.8,
            linestyle="",
            zorder=6 + list(LANES).index(style.group),
        )
        if style.milestone is not None:
            rank = MILESTONE_ORDER.index(event.event)
            milestone = Milestone(rank, x, style.milestone, style.colour)
            milestones.setdefault((x, style.milestone.casefold()), milestone)
        elif is_status_event(event.event):
            status = event.event.removeprefix(STATUS_PREFIX)
            status = status if len(status) <= STATUS_CHARS else status[: STATUS_CHARS - 1] + "…"
            rank = MILESTONE_ORDER.index(STATUS)
            milestones.setdefault((x, status.casefold()), Milestone(rank, x, status, MUTED))
    _label_milestones(ax, sorted(milestones.values()))


def _label_milestones(ax: Axes, milestones: Sequence[Milestone]) -> None:
    """Each milestone's word under the lane, on the first row where it overlaps no other.

    The rarer milestones are placed first (an incident before a deployment before a merge...),
    so when words crowd each other out, the ones left out are the common ones.
    """
    low, high = ax.get_xlim()
    points_per_unit = axes_size_points()[0] / ((high - low) or 1.0)
    taken: list[list[tuple[float, float]]] = [[] for _ in range(LABEL_LEVELS)]
    for _, x, word, colour in milestones:
        ax.axvline(x, color=LIGHT_GREY, linewidth=1.0, linestyle=":", zorder=2)
        half = len(word) * NOTE_SIZE * 0.3 + LABEL_GAP_PT / 2
        left, right = x * points_per_unit - half, x * points_per_unit + half
        level = next(
            (i for i, row in enumerate(taken) if all(right < a or left > b for a, b in row)), None
        )
        if level is None:
            continue  # crowded out: the marker and its line still show it
        taken[level].append((left, right))
        ax.text(
            x,
            -0.55 - level * 0.42,
            plain(word),
            ha="center",
            va="center",
            fontsize=NOTE_SIZE - 1,
            color=colour,
            family=FONT,
            zorder=6,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )


def _now_line(ax: Axes, now: datetime, tz: tzinfo) -> None:
    x = date2num(local_naive(now, tz))
    ax.axvline(x, color=VERMILLION, linewidth=1.6, linestyle="--", zorder=2)
    ax.text(
        x,
        1.0,
        " now",
        transform=blended_transform_factory(ax.transData, ax.transAxes),
        ha="left",
        va="top",
        fontsize=NOTE_SIZE,
        color=VERMILLION,
        family=FONT,
    )


def _legend(ax: Axes, groups: set[str]) -> None:
    """Work and wait, and the marker of each tool that has an event."""
    handles: list[Patch | Line2D] = [
        Patch(facecolor=BLUE, label="work"),
        Patch(facecolor="#FBE9D0", edgecolor=ORANGE, hatch="///", label="wait"),
    ]
    handles += [
        Line2D([], [], marker=marker, linestyle="", color=colour, markersize=10, label=group)
        for group, (marker, colour) in GROUP_STYLE.items()
        if group in groups
    ]
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=len(handles),
        frameon=False,
        prop={"family": FONT, "size": TICK_SIZE - 2},
        handlelength=1.4,
        columnspacing=1.0,
    )


def _alt_text(trace: Trace, header: Header) -> str:
    facts = [header.alt_intro(f"Trace of {trace.key}")]
    if trace.spans:
        steps = "; ".join(_span_label(span) for span in trace.spans)
        facts.append(f"Steps: {steps}.")
    else:
        facts.append("No step of the value stream yet.")
    wait = trace.biggest_wait
    if wait is not None:
        facts.append(f"Longest wait: {wait.name}, {duration(wait.wait_seconds)}.")
    facts.append(f"{plural(len(trace.events), 'event')}, from {trace.events[0].label.lower()}.")
    return " ".join(facts)
