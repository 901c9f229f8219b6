"""A deterministic, seeded demo source: six months of a payments team's flow, problems planted.

It behaves like any other source (``pull(cursor)`` pages, ``dry_run()`` counts) but reads nothing:
the data is fully determined by ``(seed, anchor)``. The anchor is the minute of the first pull and
travels in the cursor (``{"anchor": ..., "offset": n}``), so a later pull regenerates the very same
history and yields only the records after ``offset``. Issues ``PAY-1..PAY-N`` move through the
app.yaml workflow (stages come from the team's :class:`~insights.workflow.Workflow`); pull requests,
CI runs, production deployments and incidents follow from them, linked as a real team's are (keys
in branches and titles, the pull requests each deployment shipped, the commit each run built). At
the anchor the team has aging items, flagged and blocked work, pull requests waiting for review,
WIP above its limit and a queue growing in front of QA, and for five weeks merged code has waited
for a weekly release train; the rest looks like a healthy team.

The problems are planted by :mod:`integrations.demo_story`; the random walks and the records they
become are made by :mod:`integrations.demo_mechanics`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field

from insights.model import (
    Deployment,
    Incident,
    ItemHistory,
    ItemKind,
    Page,
    PipelineRun,
    Plan,
)
from insights.workflow import Workflow
from integrations.base import SourceConfig, SourceContext, SourceError
from integrations.demo_mechanics import (
    STATUSES,
    arrivals,
    deployments,
    incidents,
    issue_history,
    minute,
    new_issue,
    pipeline_runs,
    pr_drafts,
    pr_history,
    truncate,
    wait_for_release,
    walk,
)
from integrations.demo_story import (
    plant,
    plant_untraced_deploy,
    release_calendar,
    release_plans,
)

SOURCE_TYPE = "demo"
Record = ItemHistory | Deployment | PipelineRun | Incident | Plan


class Config(SourceConfig):
    """The ``type: demo`` section of app.yaml."""

    type: Literal["demo"] = "demo"
    seed: int = 7
    items: int = Field(default=420, ge=0)
    days: int = Field(default=180, ge=1)
    page_size: int = Field(default=100, ge=1)


def generate(config: Config, anchor: datetime, team: str, workflow: Workflow) -> tuple[Record, ...]:
    """Every record of the demo data set, in page order: histories, delivery records, plans."""
    rng = random.Random(config.seed)
    issues = [
        new_issue(rng, n, t)
        for n, t in enumerate(arrivals(rng, anchor, config.items, config.days), 1)
    ]
    releases = random.Random(f"{config.seed}/releases")  # its own stream: the issues stay the same
    calendar = release_calendar(releases, anchor, config.days)
    for issue in issues:
        walk(rng, issue)
        truncate(issue, anchor)
        wait_for_release(releases, issue, calendar)
        truncate(issue, anchor)
    plant(rng, issues, anchor)
    histories = [issue_history(i, team, workflow) for i in issues]
    drafts = pr_drafts(rng, issues)
    histories += [pr_history(rng, n, pr, team, anchor) for n, pr in enumerate(drafts, 1)]
    histories.sort(key=lambda h: (h.item.updated_at, h.item.id))
    prs = sorted(
        (h.item for h in histories if h.item.kind is ItemKind.PULL_REQUEST),
        key=lambda p: (p.created_at, p.id),
    )
    deploys = deployments(prs, calendar, team)
    runs = pipeline_runs(rng, prs, team, anchor, released={d.sha or "" for d in deploys})
    deploys = plant_untraced_deploy(releases, deploys)
    delivery = (*deploys, *runs, *incidents(rng, deploys, team, anchor))
    return (*histories, *delivery, *release_plans(anchor, team))


def _page(records: tuple[Record, ...], cursor: str, unmapped: frozenset[str]) -> Page:
    return Page(
        histories=[r for r in records if isinstance(r, ItemHistory)],
        deployments=[r for r in records if isinstance(r, Deployment)],
        pipeline_runs=[r for r in records if isinstance(r, PipelineRun)],
        incidents=[r for r in records if isinstance(r, Incident)],
        plans=[r for r in records if isinstance(r, Plan)],
        cursor=cursor,
        unmapped_statuses=unmapped,
    )


class DemoSource:
    """The demo source of one team."""

    kind: ClassVar[str] = "demo"

    def __init__(self, config: Config, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self._cache: dict[datetime, tuple[Record, ...]] = {}

    def _anchor(self) -> datetime:
        now = self.ctx.now()
        if now.tzinfo is None:
            raise SourceError("demo: the clock returned a naive datetime; it must be aware UTC")
        return minute(now.astimezone(UTC))

    def _records(self, anchor: datetime) -> tuple[Record, ...]:
        if anchor not in self._cache:  # keep one data set: a pull regenerates at most once
            records = generate(self.config, anchor, self.ctx.team, self.ctx.workflow)
            self._cache = {anchor: records}
        return self._cache[anchor]

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield pages after ``cursor``; the first pull fixes the anchor that later ones reuse."""
        anchor, offset = self._anchor(), 0
        if cursor is not None:
            try:
                state = json.loads(cursor)
                anchor, offset = datetime.fromisoformat(state["anchor"]), int(state["offset"])
            except (ValueError, TypeError, KeyError) as exc:
                raise SourceError(f"demo: unreadable cursor {cursor!r}; reset the sync") from exc
            if anchor.tzinfo is None or offset < 0:
                raise SourceError(f"demo: invalid cursor {cursor!r}; reset the sync")
            anchor = anchor.astimezone(UTC)
        records = self._records(anchor)
        known = {s.lower() for s in self.ctx.workflow.statuses}
        unmapped = frozenset(s for s in STATUSES if s.lower() not in known)
        size = self.config.page_size
        for start in range(offset, len(records), size):
            end = min(start + size, len(records))
            state = json.dumps({"anchor": anchor.isoformat(), "offset": end})
            yield _page(records[start:end], state, unmapped)
        if cursor is None and not records:  # nothing to yield, but the anchor must be kept
            yield _page((), json.dumps({"anchor": anchor.isoformat(), "offset": 0}), unmapped)

    def dry_run(self) -> dict[str, int]:
        """Count what a full pull would yield now, storing nothing."""
        records = self._records(self._anchor())
        histories = [r for r in records if isinstance(r, ItemHistory)]
        return {
            "items": len(histories),
            "transitions": sum(len(h.transitions) for h in histories),
            "deployments": sum(isinstance(r, Deployment) for r in records),
            "incidents": sum(isinstance(r, Incident) for r in records),
            "pipeline_runs": sum(isinstance(r, PipelineRun) for r in records),
        }


def build(config: Config, ctx: SourceContext) -> DemoSource:
    """Build the demo source from its app.yaml section."""
    return DemoSource(config, ctx)
