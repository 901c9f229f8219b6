"""The "Why?" of a figure: the items behind one number of ``/vsm flow`` or ``/vsm dora``.

:func:`explanation` answers an :data:`~bot.slack.ids.EXPLAIN` option: the figure's title and
value as of ``now``, one line on how it is computed (the METRICS.md rule, with its section), and
the items behind it with links and each item's own number (its cycle time, age, blocked time...),
the one that weighs most first. Flow figures read the team's report over the window (the keys of
:attr:`~insights.report.TeamReport.metric_items`, each item's number from its timeline); "Aging"
and "Blocked" of ``/vsm flow`` read the same digest lists as the answer; DORA figures read
:meth:`~bot.slack.answering.answers.Answers.dora` over the window, with the deployments, pull
requests and incidents named from the snapshot. Long lists end with "and N more".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from bot.config import TeamConfig
from bot.slack.answering.answers import Answers
from bot.slack.answering.blocks import (
    MESSAGE_CHARS,
    Message,
    clip,
    context,
    escape,
    fit,
    header,
    link,
    list_sections,
    section,
    slack_date,
)
from bot.slack.answering.render import age, days, dora_figures, item_line
from insights.deployments import PrLeadTime, attribute_incidents
from insights.dora import DoraMetrics, Recovery
from insights.item_timeline import ItemTimeline
from insights.metrics.blocked_time import item_blocked_time
from insights.metrics.efficiency import item_efficiency
from insights.metrics.flow_items import item_timelines
from insights.metrics.shared import calendar_days
from insights.model import Deployment, Incident, WorkItem
from insights.report import Digest, ItemLine, TeamReport

TITLE_CHARS = 80
LINES_CHARS = MESSAGE_CHARS - 1500
"""Block text left for the item lines once the header, value and rule are in."""
SHIPPED_SHOWN = 3
DATE = "{date_short}"
UNKNOWN = float("-inf")
"""The weight of an item whose own number is unknown: listed last."""


@dataclass(frozen=True)
class Explanation:
    """A figure explained: its title and value, how it is computed, and the items behind it."""

    title: str
    value: str
    """mrkdwn, numbers only."""
    rule: str
    """mrkdwn: how the figure is computed, quoting METRICS.md."""
    lines: list[str] = field(default_factory=list)
    """mrkdwn, one per item; outside text already escaped."""
    empty: str = "No items behind this number."


def when(at: datetime | None) -> str:
    """A date each reader sees in their own time zone (``n/a`` when unknown)."""
    return "n/a" if at is None else slack_date(at, DATE)


def span(seconds: float | None) -> str:
    """A duration as a person reads it: minutes, hours or days (``n/a`` when unknown)."""
    if seconds is None:
        return "n/a"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return days(seconds)


def item_link(item: WorkItem | None, key: str) -> str:
    """An item's linked key and escaped, clipped title (just the key when unknown)."""
    if item is None:
        return escape(key)
    return f"{link(item.url, key)} {escape(clip(item.title, TITLE_CHARS))}"


def ranked(entries: Iterable[tuple[float, str]]) -> list[str]:
    """The lines of ``(weight, line)`` entries, the heaviest first (stable among equals)."""
    return [line for _, line in sorted(entries, key=lambda entry: -entry[0])]


class FlowFigures:
    """The items behind a flow figure, read from the team's report over the window."""

    def __init__(self, answers: Answers, team: TeamConfig, now: datetime, window_days: int):
        self.answers, self.team, self.now, self.window = answers, team, now, window_days
        self.snapshot = answers.snapshot(team)

    @cached_property
    def report(self) -> TeamReport:
        return self.answers.report(self.team, self.now, self.window)

    @cached_property
    def timelines(self) -> dict[str, ItemTimeline]:
        return {t.item.key: t for t in item_timelines(self.snapshot)}

    def lines(
        self, metric: str, number: Callable[[ItemTimeline], tuple[float, str] | None]
    ) -> list[str]:
        """One line per item behind ``metric``: ``number`` gives its weight and its own figure."""
        entries = []
        for key in self.report.metric_items.get(metric, ()):
            timeline = self.timelines.get(key)
            found = None if timeline is None else number(timeline)
            weight, detail = found or (UNKNOWN, "")
            item = None if timeline is None else timeline.item
            entries.append(
                (weight, f"• {item_link(item, key)}" + (f" — {detail}" if detail else ""))
            )
        return ranked(entries)

    def metric(self, name: str) -> float | int | None:
        return self.report.metrics.get(name)

    def wip(self) -> Explanation:
        limit = self.metric("wip_limit")
        return Explanation(
            "WIP",
            f"{self.metric('wip')} items in progress" + (f" (limit {limit})" if limit else ""),
            "items started (their first move into a waiting or in-progress stage) and not "
            "finished, counted now (METRICS 3.3, 1.2); each item's age in calendar days, the "
            "start day counting as day 1 (METRICS 3.4). Oldest first.",
            self.lines("wip", self._age),
        )

    def throughput(self) -> Explanation:
        return Explanation(
            f"Finished in {self.window} days",
            f"{self.metric('throughput_items')} items",
            f"items whose finish (their last move into done) falls in the last {self.window} "
            "days of the team's calendar, each counted once, cancelled items left out "
            "(METRICS 3.5, 1.3). Latest first.",
            self.lines("throughput_items", self._finished),
        )

    def cycle_time(self) -> Explanation:
        count, history = self.metric("cycle_time_items"), self.team.agreements.history_days
        return Explanation(
            "Cycle time",
            self._percentiles("cycle_time"),
            "from the first move into an in-progress stage to done, calendar time, nights and "
            "weekends included (METRICS 3.2); p50 and p85 by nearest rank over the "
            f"{count} items finished in the last {history} days, none under 5 items "
            "(METRICS 3.7). Longest first.",
            self.lines("cycle_time", self._cycle),
        )

    def lead_time(self) -> Explanation:
        return Explanation(
            "Lead time",
            self._percentiles("lead_time"),
            "from creation to done, calendar time, never mixed with cycle time (METRICS 3.2); "
            f"p50 and p85 by nearest rank over the {self.metric('lead_time_items')} items "
            f"finished in the last {self.window} days. Longest first.",
            self.lines("lead_time", self._lead),
        )

    def flow_efficiency(self) -> Explanation:
        ratio, median = self.metric("flow_efficiency_ratio"), self.metric("flow_efficiency_median")
        value = "n/a" if ratio is None else f"{ratio:.0%}"
        if median is not None:
            value += f" (median item {median:.0%})"
        return Explanation(
            "Flow efficiency",
            value,
            "time in active stages, minus flagged time, over flow time (start to done), summed "
            f"over the items finished in the last {self.window} days: a ratio of sums "
            "(METRICS 1.5). Least efficient first.",
            self.lines("flow_efficiency", self._efficiency),
        )

    def blocked(self) -> Explanation:
        share = self.metric("blocked_share")
        finished = days(self.metric("blocked_seconds_finished"))
        of = "" if share is None else f" ({share:.0%} of their cycle time)"
        keys = len(self.report.metric_items.get("blocked", ()))
        return Explanation(
            "Blocked time",
            f"{keys} items; finished items were blocked {finished}{of}",
            "flagged or blocked-stage time between start and finish (or now), overlaps counted "
            'once; open "blocked by" links named (METRICS 3.10). Items finished in the last '
            f"{self.window} days and items in progress now. Most blocked first.",
            self.lines("blocked", self._blocked),
        )

    def started(self) -> Explanation:
        return self._net_flow(
            "net_flow_started_items",
            "Started",
            "first move into a waiting or in-progress stage",
            self._started,
        )

    def finished(self) -> Explanation:
        return self._net_flow("net_flow_finished_items", "Finished", "finish", self._finished)

    def aging(self) -> Explanation:
        return self._findings(
            "Aging",
            "in-progress items whose age (calendar days, the start day counting as day 1), or "
            "time in their status, reached the 70th percentile of the team's cycle time over the "
            f"last {self.team.agreements.history_days} days (a heads-up), its aging percentile "
            "(a warning) or the 95th (critical) (METRICS 3.4, 4). Oldest first.",
            lambda digest: digest.aging,
        )

    def blocked_now(self) -> Explanation:
        hours = self.team.agreements.blocked_alert_after_hours
        return self._findings(
            "Blocked",
            "in-progress items flagged, in a blocked stage or blocked by an unfinished item for "
            f"longer than the team's agreement ({hours:g} h) (METRICS 3.10, 4). Oldest first.",
            lambda digest: digest.blocked,
        )

    def _findings(
        self, title: str, rule: str, pick: Callable[[Digest], list[ItemLine]]
    ) -> Explanation:
        """Aging and Blocked of ``/vsm flow``: the digest's lists, as the answer counted them."""
        lines = pick(self.answers.digest(self.team, self.now, self.window))
        ages = self.answers.item_ages(self.team, self.now)
        return Explanation(
            title, f"{len(lines)} items", rule, [item_line(line, ages) for line in lines]
        )

    def _net_flow(
        self,
        metric: str,
        title: str,
        event: str,
        number: Callable[[ItemTimeline], tuple[float, str] | None],
    ) -> Explanation:
        started = self.metric("net_flow_started_items") or 0
        finished = self.metric("net_flow_finished_items") or 0
        return Explanation(
            f"{title} in {self.window} days",
            f"{self.metric(metric)} items (net flow {int(started) - int(finished):+d}: "
            f"{started} started, {finished} finished)",
            f"items whose {event} falls in the last {self.window} days of the team's calendar; "
            "net flow = started - finished (METRICS 3.6). Latest first.",
            self.lines(metric, number),
        )

    def _percentiles(self, prefix: str) -> str:
        p50 = self.metric(f"{prefix}_seconds_p50")
        p85 = self.metric(f"{prefix}_seconds_p85")
        return f"p50 {days(p50)} · p85 {days(p85)}"

    def _age(self, t: ItemTimeline) -> tuple[float, str] | None:
        if t.started_at is None:
            return None
        age_days = calendar_days(t.started_at, self.now, self.team.zone)
        return age_days, f"_{escape(t.item.status)}_, {age(age_days)}"

    def _finished(self, t: ItemTimeline) -> tuple[float, str] | None:
        if t.finished_at is None:
            return None
        cycle = t.cycle_time_seconds()
        return (
            t.finished_at.timestamp(),
            f"finished {when(t.finished_at)}, cycle time {days(cycle)}",
        )

    def _started(self, t: ItemTimeline) -> tuple[float, str] | None:
        if t.started_at is None:
            return None
        return (
            t.started_at.timestamp(),
            f"started {when(t.started_at)}, now _{escape(t.item.status)}_",
        )

    def _cycle(self, t: ItemTimeline) -> tuple[float, str] | None:
        seconds = t.cycle_time_seconds()
        if seconds is None:
            return None
        return seconds, f"cycle time {days(seconds)}, finished {when(t.finished_at)}"

    def _lead(self, t: ItemTimeline) -> tuple[float, str] | None:
        seconds = t.lead_time_seconds()
        if seconds is None:
            return None
        return seconds, f"lead time {days(seconds)}, created {when(t.item.created_at)}"

    def _efficiency(self, t: ItemTimeline) -> tuple[float, str] | None:
        e = item_efficiency(t)
        if e is None:
            return None
        active, flow = days(e.active_seconds), days(e.flow_seconds)
        return -e.efficiency, f"{e.efficiency:.0%} active ({active} of {flow})"

    def _blocked(self, t: ItemTimeline) -> tuple[float, str] | None:
        b = item_blocked_time(t, self.now, self.team.zone, self._finished_keys)
        where = "in progress" if t.in_progress else f"finished {when(t.finished_at)}"
        by = f", blocked by {escape(', '.join(b.blocked_by))}" if b.blocked_by else ""
        return b.blocked_seconds, f"blocked {span(b.blocked_seconds)}{by}, {where}"

    @cached_property
    def _finished_keys(self) -> frozenset[str]:
        return frozenset(i.key for i in self.snapshot.items if i.stage.finished)


class DoraFigures:
    """The deployments, pull requests and incidents behind a DORA figure over the window."""

    def __init__(self, answers: Answers, team: TeamConfig, now: datetime, window_days: int):
        self.window = window_days
        self.metrics: DoraMetrics = answers.dora(team, now, window_days)
        snapshot = answers.snapshot(team)
        self.deployments = {d.id: d for d in snapshot.deployments}
        self.incidents = {
            i.id: i for i in attribute_incidents(snapshot.deployments, snapshot.incidents)
        }
        self.items_by_key = {i.key: i for i in snapshot.items}
        self.items_by_id = {i.id: i for i in snapshot.items}
        figures = dora_figures(self.metrics)
        self.labels = {name: label for label, name, _ in figures}
        self.values = {name: value for _, name, value in figures}

    def explained(self, name: str, rule: str, lines: list[str], empty: str) -> Explanation:
        return Explanation(self.labels[name], self.values[name], rule, lines, empty)

    def deployment(self, deployment_id: str) -> str:
        """A deployment's link, labelled by repository and commit, and when it finished."""
        d = self.deployments.get(deployment_id)
        if d is None:
            return escape(deployment_id)
        label = f"{d.repo or d.environment}@{d.sha[:7]}" if d.sha else d.id
        return f"{link(d.url, label)} finished {when(d.finished_at)}"

    def incident(self, incident: Incident) -> str:
        return link(incident.url, clip(incident.title, TITLE_CHARS))

    def incidents_of(self, deployment_id: str) -> list[Incident]:
        return [i for i in self.incidents.values() if i.deployment_id == deployment_id]

    def deployment_frequency(self) -> Explanation:
        m = self.metrics
        lines = [
            f"• {self.deployment(d)}{self._shipped(self.deployments.get(d))}"
            for d in reversed(m.deployment_ids)
        ]
        return self.explained(
            "deployment_frequency",
            f"{m.deployment_count} successful production deployments finished in the last "
            f"{self.window} days, per week; the band is DevLake's: the median of distinct "
            "deployment days per Monday week (elite at 5, high at 1), else per month "
            "(METRICS 2.2, 2.6). Latest first.",
            lines,
            "No production deployment in the window.",
        )

    def lead_time_for_changes(self) -> Explanation:
        entries = [(float(p.cycle_minutes), self._lead_line(p)) for p in self.metrics.lead_times]
        return self.explained(
            "lead_time_for_changes",
            "per merged pull request shipped by a production deployment in the window: first "
            "commit → opened → merged → deployment finished, minutes rounded up; DevLake lower "
            "median (METRICS 2.3, 2.6). Longest first.",
            ranked(entries),
            "No merged pull request was shipped by a production deployment in the window.",
        )

    def _lead_line(self, p: PrLeadTime) -> str:
        """A shipped pull request, its lead time and DevLake's parts of it, and its deployment."""
        parts = ", ".join(
            f"{name} {span(None if minutes is None else minutes * 60.0)}"
            for name, minutes in (
                ("coding", p.coding_minutes),
                ("pickup", p.pickup_minutes),
                ("review", p.review_minutes),
                ("deploy", p.deploy_minutes),
            )
        )
        pr = item_link(self.items_by_key.get(p.pr_key), p.pr_key)
        total = span(p.cycle_minutes * 60.0)
        return f"• {pr} — {total} ({parts}); {self.deployment(p.deployment_id)}"

    def change_failure_rate(self) -> Explanation:
        m = self.metrics
        lines = [
            f"• {self.deployment(d)} · incidents: {self._incident_links(self.incidents_of(d))}"
            for d in m.failed_deployment_ids
        ]
        return self.explained(
            "change_failure_rate",
            f"{len(m.failed_deployment_ids)} of the {m.deployment_count} production deployments "
            "in the window had at least one incident attributed (to the latest production "
            "deployment finished before the incident started), each deployment counted once "
            "(METRICS 2.3, 2.6). The failed deployments:",
            lines,
            "No deployment of the window had an incident attributed.",
        )

    def recovery_time(self) -> Explanation:
        entries = [(r.seconds, self._recovery_line(r)) for r in self.metrics.recoveries]
        still_open = [
            f"• {self.incident(incident)} — open since {when(incident.created_at)}, "
            "not counted until resolved"
            for incident in self._known(self.metrics.open_incident_ids)
        ]
        return self.explained(
            "recovery_time",
            "per failed deployment whose incidents are all resolved: the last resolution minus "
            "the deployment's finish, counted when recovered in the window; DevLake lower median "
            "(METRICS 2.3, 2.6). Longest first, then the incidents still open.",
            ranked(entries) + still_open,
            "No failed deployment was recovered in the window.",
        )

    def _recovery_line(self, r: Recovery) -> str:
        incidents = self._incident_links(self._known(r.incident_ids))
        return (
            f"• {self.deployment(r.deployment_id)} — recovered in {span(r.seconds)} · {incidents}"
        )

    def _known(self, incident_ids: Iterable[str]) -> list[Incident]:
        return [self.incidents[i] for i in incident_ids if i in self.incidents]

    def rework_rate(self) -> Explanation:
        m = self.metrics
        lines = [
            f"• {self.deployment(d)}{self._shipped(self.deployments.get(d))}"
            for d in m.rework_deployment_ids
        ]
        return self.explained(
            "rework_rate",
            f"{len(m.rework_deployment_ids)} of the {m.deployment_count} production deployments "
            "in the window were unplanned: a shipped pull request named hotfix, revert, "
            "rollback, incident or INC-n or linked to an incident, or the deployment started "
            "while an attributed incident was open (METRICS 2.6).",
            lines,
            "No unplanned deployment in the window.",
        )

    def _incident_links(self, incidents: Sequence[Incident]) -> str:
        return ", ".join(self.incident(i) for i in incidents) or "none known"

    def _shipped(self, d: Deployment | None) -> str:
        if d is None or not d.shipped_item_ids:
            return ""
        shipped = [self.items_by_id.get(i) for i in d.shipped_item_ids]
        named = [item_link(item, item.key) for item in shipped if item is not None]
        more = len(d.shipped_item_ids) - min(len(named), SHIPPED_SHOWN)
        extra = f" and {more} more" if more > 0 else ""
        return f" · shipped {', '.join(named[:SHIPPED_SHOWN])}{extra}" if named else ""


FLOW_EXPLAINERS: dict[str, Callable[[FlowFigures], Explanation]] = {
    "wip": FlowFigures.wip,
    "throughput_items": FlowFigures.throughput,
    "cycle_time": FlowFigures.cycle_time,
    "lead_time": FlowFigures.lead_time,
    "flow_efficiency": FlowFigures.flow_efficiency,
    "blocked": FlowFigures.blocked,
    "net_flow_started_items": FlowFigures.started,
    "net_flow_finished_items": FlowFigures.finished,
    "aging": FlowFigures.aging,
    "blocked_now": FlowFigures.blocked_now,
}
DORA_EXPLAINERS: dict[str, Callable[[DoraFigures], Explanation]] = {
    "deployment_frequency": DoraFigures.deployment_frequency,
    "lead_time_for_changes": DoraFigures.lead_time_for_changes,
    "change_failure_rate": DoraFigures.change_failure_rate,
    "recovery_time": DoraFigures.recovery_time,
    "rework_rate": DoraFigures.rework_rate,
}
FIGURES = frozenset(FLOW_EXPLAINERS) | frozenset(DORA_EXPLAINERS)
"""Every metric name an explain value may carry."""


def explanation(
    answers: Answers, team: TeamConfig, metric: str, now: datetime, window_days: int
) -> Message:
    """The figure ``metric`` of ``team`` over ``window_days`` explained as of ``now``.

    Raises KeyError for a metric not in :data:`FIGURES`.
    """
    if metric in DORA_EXPLAINERS:
        explained = DORA_EXPLAINERS[metric](DoraFigures(answers, team, now, window_days))
    else:
        explained = FLOW_EXPLAINERS[metric](FlowFigures(answers, team, now, window_days))
    return render_explanation(team.name, explained, now)


def render_explanation(team: str, e: Explanation, now: datetime) -> Message:
    """The explanation as a message: value, rule, then as many item lines as fit."""
    kept, left_out = cut(e.lines, LINES_CHARS)
    blocks = [
        header(f"Why? {e.title} · {team}"),
        section(f"*{escape(e.title)}*: {e.value}"),
        context(f"*How:* {e.rule}"),
        *(list_sections(kept) if kept else [section(e.empty)]),
    ]
    if left_out:
        blocks.append(context(f"… and {left_out} more."))
    blocks.append(context(f"As of {slack_date(now)} · {len(e.lines)} item(s)"))
    return fit(f"Why {e.title} of {team}: {len(e.lines)} item(s)", blocks)


def cut(lines: Sequence[str], budget: int) -> tuple[list[str], int]:
    """The first lines that fit in ``budget`` characters, and how many were left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        used += len(line) + 1
        if used > budget:
            break
        kept.append(line)
    return kept, len(lines) - len(kept)
