"""Where the time goes: the wait or the work of one value stream step that takes most lead time.

The team's value stream (:mod:`insights.value_stream`: its configured steps, else the default of
its board and links) over the items finished in the last 30 days; its :class:`Hotspot` is the
part (wait, or process time) of one step with the largest share of the lead time after the
backlog, compared with the 30 days before. One team finding says how long that part takes an
item (its median), its share and the change, and what a team can do about that kind of step:
release waits call for smaller, more frequent, automated deployments; review waits for a review
rotation or SLA; board waits for WIP limits and swarming.

Severity: **warn** when the share is at least 30% and rose by at least 5 points since the 30 days
before; **info** otherwise (there is always a largest part: it is where to look first). Nothing
when the step counted fewer than 5 items in the window (:data:`insights.value_stream.MIN_ITEMS`):
a share of so few items says little.
"""

from __future__ import annotations

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import DAY_SECONDS, dedupe_key, duration
from insights.findings import Finding, Severity
from insights.stream_events import (
    APPROVED,
    COMMITTED,
    CREATED,
    DEPLOYED,
    FIRST_REVIEW,
    MERGED,
    PR_OPENED,
)
from insights.value_stream import (
    MIN_ITEMS,
    REVIEW,
    WAIT_PART,
    Hotspot,
    StepStats,
    StreamStep,
    resolve_steps,
    value_stream_map,
    workflow_of,
)

NAME = "value_stream"
WINDOW_DAYS = 30
WARN_SHARE = 0.30
"""A part taking at least this share of lead time..."""
WARN_RISE = 0.05
"""...and grown by at least this much (5 points) since the window before is a warning."""


def detect(ctx: DetectionContext) -> list[Finding]:
    """One team finding naming where the stream's time goes, or none with too few items."""
    steps = resolve_steps(ctx.snapshot, workflow_of(ctx.snapshot), ctx.steps)
    stream = value_stream_map(
        ctx.snapshot, ctx.timelines, steps, ctx.days_ago(WINDOW_DAYS), ctx.now
    )
    hotspot = stream.hotspot
    if hotspot is None:
        return []
    stats = next(s for s in stream.steps if s.step.name == hotspot.step)
    if stats.items < MIN_ITEMS:
        return []
    waits = hotspot.part == WAIT_PART
    median = stats.wait_seconds_p50 if waits else stats.process_seconds_p50
    after_backlog = any(step.start == CREATED for step in steps) and any(
        step.start != CREATED for step in steps
    )
    rose = hotspot.change is not None and round(hotspot.change, 6) >= WARN_RISE
    severity = Severity.WARN if hotspot.share >= WARN_SHARE and rose else Severity.INFO
    evidence: dict[str, float | int | str] = {
        "step": hotspot.step,
        "part": hotspot.part,
        "share_of_lead_time": round(hotspot.share, 3),
        "items": stats.items,
        "window_days": WINDOW_DAYS,
    }
    if median is not None:
        evidence["median_days"] = round(median / DAY_SECONDS, 2)
    if hotspot.previous_share is not None:
        evidence["previous_share_of_lead_time"] = round(hotspot.previous_share, 3)
    return [
        Finding(
            detector=NAME,
            severity=severity,
            subject="team",
            title=f"{_what(stats.step, waits, median)}: {_share(hotspot, after_backlog)}",
            action=_action(stats, waits),
            dedupe_key=dedupe_key(NAME, ctx.team, hotspot.step.lower(), hotspot.part),
            evidence=evidence,
            item_keys=stats.item_keys,
        )
    ]


def _what(step: StreamStep, waits: bool, median: float | None) -> str:
    """``Merged code waits 3.1 days for production``: the part, in the words of its step."""
    took = "" if median is None else f" {duration(median)}"
    bounds = (step.start, step.end)
    if waits:
        if step.end == DEPLOYED:
            return f"Merged code waits{took} for production"
        if bounds == (PR_OPENED, FIRST_REVIEW):
            return f"Pull requests wait{took} for a first review"
        if bounds == (APPROVED, MERGED):
            return f"Approved pull requests wait{took} to be merged"
        if step.start == DEPLOYED:
            return f"Deployed work waits{took} before it is done"
        if step.start == CREATED:
            return f"Items wait{took} in the backlog"
        if step.start == COMMITTED:
            return f"Committed items wait{took} before work starts"
        return f"Items wait{took} in {step.name}"
    if step.measure == REVIEW:
        return f"Code review takes{took} from the first review to approval"
    return f"{step.name} takes{took} of work per item"


def _share(hotspot: Hotspot, after_backlog: bool) -> str:
    """``41% of lead time, up from 28%``."""
    text = f"{hotspot.share:.0%} of lead time" + (" after the backlog" if after_backlog else "")
    previous = hotspot.previous_share
    if previous is None:
        return text
    if f"{previous:.0%}" == f"{hotspot.share:.0%}":
        return f"{text}, as in the {WINDOW_DAYS} days before"
    return f"{text}, {'up' if hotspot.share > previous else 'down'} from {previous:.0%}"


def _action(stats: StepStats, waits: bool) -> str:
    """What a team can do about this kind of step."""
    step = stats.step
    if waits and step.end == DEPLOYED:
        return (
            "Deploy smaller batches more often, and automate the release so merged code reaches "
            "production the day it merges."
        )
    if waits and (step.start, step.end) == (PR_OPENED, FIRST_REVIEW):
        return (
            "Agree a review rotation or a review SLA (a first review within half a day), and keep "
            "pull requests small enough to review at once."
        )
    if waits and (step.start, step.end) == (APPROVED, MERGED):
        return (
            "Merge as soon as a change is approved: make it the author's next task, or turn on "
            "auto-merge once checks pass."
        )
    if step.measure == REVIEW:
        return (
            "Keep pull requests small and review them together (pair, or a short call) so one "
            "round settles them."
        )
    if waits and step.start == DEPLOYED:
        return (
            "Verify in production as part of the release (automated checks, a clear definition "
            "of done) so deployed work is closed the day it ships."
        )
    if waits and step.start == CREATED:
        return "Commit to fewer items: keep the backlog short and pull work in just in time."
    if waits and step.start == COMMITTED:
        return "Limit WIP: start fewer items, and finish what is started before pulling new work."
    if waits:
        return (
            f"Limit WIP and swarm on the items waiting in {step.name}, so work is pulled on "
            "instead of queuing."
        )
    return f"Split work into smaller items, and swarm on the oldest in {step.name} to finish them."
