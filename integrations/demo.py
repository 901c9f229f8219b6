"""A deterministic, seeded demo source: six months of a payments team's flow, problems planted.

It behaves like any other source (``pull(cursor)`` pages, ``dry_run()`` counts) but reads nothing:
the data is fully determined by ``(seed, anchor)``. The anchor is the minute of the first pull and
travels in the cursor (``{"anchor": ..., "offset": n}``), so a later pull regenerates the very same
history and yields only the records after ``offset``. Issues ``PAY-1..PAY-N`` move through the
app.yaml workflow (stages come from the team's :class:`~insights.workflow.Workflow`); pull requests,
CI runs, production deployments and incidents follow from them. At the anchor the team has aging
items, flagged and blocked work, pull requests waiting for review, WIP above its limit and a queue
growing in front of QA; the rest looks like a healthy team.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    Outcome,
    Page,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
    make_id,
)
from insights.workflow import Workflow
from integrations.base import SourceConfig, SourceContext, SourceError

SOURCE_TYPE = "demo"
REPO = "acme/payments"
BASE_URL = "https://demo.vsm-bot.invalid"
# fmt: off
PEOPLE = {"Amara Okafor": "amara-o", "Ben Lindqvist": "blindqvist", "Chen Wei": "chenwei",
          "Dana Ruiz": "druiz", "Eli Novak": "eli-novak", "Farah Haddad": "fhaddad"}
STATUSES = ("Backlog", "Selected for Development", "In Progress", "Code Review", "Ready for QA",
            "QA", "Blocked", "Done", "Won't Do")
OBJECTS = ("refund endpoint", "card tokenisation", "SEPA mandate flow", "3-D Secure challenge",
           "payout scheduler", "webhook signatures", "currency rounding", "ledger export",
           "chargeback notices", "idempotency keys", "fraud score cache", "invoice PDFs",
           "merchant onboarding", "settlement report", "Apple Pay button")
SYMPTOMS = ("times out under load", "returns 500 for EUR", "double-charges on retry",
            "shows the wrong currency", "drops events after deploy")
INCIDENTS = ("Elevated 5xx on /payments/authorize", "Payout batch stuck", "Webhook delivery lag",
             "Card declines spike after release", "Ledger export job failing")
# fmt: on
FINISHED = ("Done", "Won't Do")
RECENT_DAYS, QUICK_DAYS = 16, 8
_START = timedelta(minutes=1)
Script = tuple[tuple[float, ReviewState], ...]
Record = ItemHistory | Deployment | PipelineRun | Incident


class Config(SourceConfig):
    """The ``type: demo`` section of app.yaml."""

    type: Literal["demo"] = "demo"
    seed: int = 7
    items: int = Field(default=420, ge=0)
    days: int = Field(default=180, ge=1)
    page_size: int = Field(default=100, ge=1)


@dataclass
class _Issue:
    n: int
    created: datetime
    type: str
    title: str
    priority: str
    labels: tuple[str, ...]
    assignee: str
    steps: list[tuple[str, datetime]] = field(default_factory=list)
    flags: list[tuple[datetime, bool]] = field(default_factory=list)
    script: Script | None = None  # review events of a planted open PR (days after it opened)


@dataclass
class _PR:
    issue: _Issue
    created: datetime
    first_commit: datetime
    end: datetime | None  # merged or closed at, None while open
    merged: bool
    script: Script | None = None


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _days(rng: random.Random, median: float, sigma: float) -> float:
    """A lognormal duration in days."""
    return median * math.exp(rng.gauss(0.0, sigma))


def _snap(rng: random.Random, t: datetime, prev: datetime) -> datetime:
    """Move ``t`` into working hours (Mon-Fri 08:00-18:00 UTC), strictly after ``prev``."""
    jitter = timedelta(minutes=rng.randint(0, 120))  # always drawn: keeps the stream stable
    if t.weekday() >= 5 or not 8 <= t.hour < 18:
        day = (t if t.hour < 8 else t + timedelta(days=1)).replace(hour=8, minute=0)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        t = day + jitter
    return max(_minute(t), prev + _START)


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _new_issue(rng: random.Random, n: int, created: datetime) -> _Issue:
    kind = rng.choices(("Story", "Bug", "Task", "Spike"), (50, 25, 18, 7))[0]
    obj = rng.choice(OBJECTS)
    verb = rng.choice(("Add", "Support", "Validate", "Expose", "Migrate", "Harden"))
    title = {
        "Bug": f"{obj.capitalize()} {rng.choice(SYMPTOMS)}",
        "Spike": f"Investigate {obj}",
        "Task": f"Clean up {obj}",
    }.get(kind, f"{verb} {obj}")
    roll = rng.random()
    labels = ("tech-debt",) if roll < 0.12 else ("security",) if roll < 0.17 else ()
    priority = rng.choices(("Highest", "High", "Medium", "Low"), (4, 20, 60, 16))[0]
    return _Issue(n, created, kind, title, priority, labels, rng.choice(list(PEOPLE)))


def _walk(rng: random.Random, issue: _Issue) -> None:
    """Give a normal issue its life: backlog wait, the workflow, rework and reopens."""
    t = issue.created

    def go(status: str, after: float) -> None:
        nonlocal t
        t = _snap(rng, t + timedelta(days=after), t)
        issue.steps.append((status, t))

    fate = rng.random()
    if fate < 0.2:  # groomed out of the backlog
        go("Won't Do", _days(rng, 25, 0.8))
        return
    if fate > 0.6:  # stays in the backlog
        return
    wait = _days(rng, 3, 1.0) if fate < 0.48 else _days(rng, 20, 0.6)
    if rng.random() < 0.75:
        go("Selected for Development", wait)
        wait = _days(rng, 0.6, 0.8)
    go("In Progress", wait)
    for rounds in range(3):
        work = _days(rng, 2.0, 0.7)
        if rng.random() < 0.08:
            at, held = t + timedelta(days=work * rng.uniform(0.1, 0.5)), rng.uniform(0.5, 4)
            issue.flags += [(_minute(at), True), (_minute(at + timedelta(days=held)), False)]
            work += held
        if rng.random() < 0.03:
            go("Blocked", work / 2)
            go("In Progress", rng.uniform(1, 3))
            work /= 2
        if rng.random() < 0.03:
            go("Won't Do", work)
            return
        go("Code Review", work)
        go("Ready for QA", _days(rng, 0.6, 0.8))
        go("QA", _days(rng, 0.3, 0.8))
        if rounds < 2 and rng.random() < 0.1:
            go("In Progress", _days(rng, 0.3, 0.5))
            continue
        go("Done", _days(rng, 0.5, 0.7))
        if rounds < 2 and rng.random() < 0.05:
            go("In Progress", rng.uniform(1, 6))
            continue
        return


def _cleared_before(
    flags: list[tuple[datetime, bool]], cut: datetime
) -> list[tuple[datetime, bool]]:
    """The (set, cleared) flag pairs that were cleared before ``cut``."""
    pairs = zip(flags[::2], flags[1::2], strict=True)
    return [flag for pair in pairs if pair[1][0] < cut for flag in pair]


def _truncate(issue: _Issue, anchor: datetime) -> None:
    """Keep only what happened before the anchor; drop flags not cleared by then."""
    issue.steps = [(s, at) for s, at in issue.steps if at < anchor]
    issue.flags = _cleared_before(issue.flags, anchor)


@dataclass(frozen=True)
class _Role:
    """A planted problem: its (status, days before the anchor) steps, flag age, review script."""

    steps: list[tuple[str, float]]
    flagged: float | None = None
    script: Script | None = None


def _roles(rng: random.Random) -> list[_Role]:
    """The planted problems, all relative to the anchor."""
    sel, ip, cr, rfqa = "Selected for Development", "In Progress", "Code Review", "Ready for QA"
    a, b, c = rng.uniform(30, 39), rng.uniform(26, 30), rng.uniform(26, 34)
    stale = ((0, ReviewState.REQUESTED), (1.1, ReviewState.CHANGES_REQUESTED),
             (4.2, ReviewState.COMMENTED))  # fmt: skip
    roles = [
        _Role([(sel, a + 1), (ip, a)]),  # aging in progress
        _Role([(ip, b)]),  # aging, skipped Selected
        _Role([(sel, c + 1), (ip, c), (cr, 9.3)], script=stale),  # aging in a stale review
        _Role([(sel, 11.5), (ip, 10.0), ("Blocked", rng.uniform(3.95, 4.1))]),
    ]
    for _ in range(2):  # flagged 3-6 days ago, never cleared
        s = rng.uniform(8, 13)
        roles.append(_Role([(sel, s + 1), (ip, s)], flagged=rng.uniform(3.2, 5.8)))
    for _ in range(3):  # review requested 2-4 days ago, nothing since
        r = rng.uniform(2.2, 3.8)
        roles.append(
            _Role([(sel, r + 5), (ip, r + 4), (cr, r)], script=((0, ReviewState.REQUESTED),))
        )
    k = rng.randint(6, 7)
    for i in range(k):  # the queue before QA, entered over the last ~18 days
        q = 1 + 17 * (i + rng.random()) / k
        rev = q + rng.uniform(0.3, 1.5)
        work = rev + rng.uniform(2, 5)
        roles.append(_Role([(sel, work + 1), (ip, work), (cr, rev), (rfqa, q)]))
    for _ in range(2):  # fresh, healthy work
        f = rng.uniform(0.5, 2.5)
        roles.append(_Role([(sel, f + 1), (ip, f)]))
    return roles


def _pick(issues: list[_Issue], used: set[int], start: datetime) -> _Issue | None:
    """An unused open issue created before ``start``: in progress, else the newest in backlog."""

    def preference(i: _Issue) -> tuple[bool, float]:
        if not i.steps:  # never started
            return True, -i.created.timestamp()
        return False, abs((i.steps[0][1] - start).total_seconds())

    fits = [
        i
        for i in issues
        if i.n not in used
        and i.created < start - timedelta(hours=12)
        and not (i.steps and i.steps[-1][0] in FINISHED)
    ]
    return min(fits, key=preference, default=None)


def _started(issue: _Issue) -> datetime | None:
    """When the issue's work started (None when it never did)."""
    if not issue.steps or issue.steps[0][0] == "Won't Do":
        return None
    return issue.steps[0][1]


def _quick(issue: _Issue, start: datetime) -> bool:
    """True for an issue done within ``QUICK_DAYS`` of its ``start``."""
    done = bool(issue.steps) and issue.steps[-1][0] == "Done"
    return done and issue.steps[-1][1] - start <= timedelta(days=QUICK_DAYS)


def _plant(rng: random.Random, issues: list[_Issue], anchor: datetime) -> None:
    """Rewrite open issues into the planted problems (work in progress first, then backlog).

    Other work still open at the anchor, or started in the last ``RECENT_DAYS`` and not a quick
    fix, is rolled back to the backlog (or to its last finish): what is in progress at the anchor
    is the planted picture, WIP climbs towards it instead of peaking before it, and throughput
    dips but does not stop.
    """
    used: set[int] = set()
    for role in _roles(rng):
        steps = [(s, _minute(anchor - timedelta(days=d))) for s, d in role.steps]
        issue = _pick(issues, used, steps[0][1])
        if issue is None:
            continue
        used.add(issue.n)
        issue.steps, issue.script, issue.flags = steps, role.script, []
        if role.flagged is not None:
            issue.flags = [(_minute(anchor - timedelta(days=role.flagged)), True)]
    recent = anchor - timedelta(days=RECENT_DAYS)
    for issue in issues:
        if issue.n in used:
            continue
        start = _started(issue)
        if start is not None and start >= recent and not _quick(issue, start):
            issue.steps = []  # the planted items are the work started lately, bar quick fixes
        while issue.steps and issue.steps[-1][0] not in FINISHED:
            issue.steps.pop()
        issue.flags = _cleared_before(
            issue.flags, issue.steps[-1][1] if issue.steps else issue.created
        )


def _issue_history(issue: _Issue, team: str, workflow: Workflow) -> ItemHistory:
    key = f"PAY-{issue.n}"
    iid = make_id("demo", "issue", f"{team}/{key}")
    transitions, prev = [], "Backlog"
    for status, at in issue.steps:
        stages = workflow.stage_for(prev), workflow.stage_for(status)
        transitions.append(Transition(iid, at, prev, status, *stages))
        prev = status
    flags = tuple(FlagChange(iid, at, flagged) for at, flagged in issue.flags)
    stage = workflow.stage_for(prev)
    started = any(status not in FINISHED for status, _ in issue.steps)
    times = [issue.created, *(t.at for t in transitions), *(f.at for f in flags)]
    item = WorkItem(
        id=iid,
        team=team,
        source="demo",
        key=key,
        kind=ItemKind.ISSUE,
        type=issue.type,
        title=issue.title,
        status=prev,
        stage=stage,
        created_at=issue.created,
        updated_at=max(times),
        resolved_at=transitions[-1].at if stage.finished else None,
        assignee=issue.assignee if started else None,
        url=f"{BASE_URL}/browse/{key}",
        priority=issue.priority,
        labels=issue.labels,
    )
    return ItemHistory(item, tuple(transitions), flags)


def _pr_drafts(rng: random.Random, issues: list[_Issue]) -> list[_PR]:
    """One pull request per stay in Code Review (most of them), a few abandoned ones."""
    drafts = []
    for issue in issues:
        for i, (status, entered) in enumerate(issue.steps):
            if status != "Code Review" or i == 0:
                continue
            started = issue.steps[i - 1][1]
            left = issue.steps[i + 1][1] if i + 1 < len(issue.steps) else None
            if issue.script is None and (issue.type == "Spike" or rng.random() < 0.08):
                continue
            opened = max(started + _START, entered - timedelta(minutes=rng.randint(5, 90)))
            first = _minute(started + (opened - started) * rng.uniform(0.05, 0.6))
            if rng.random() < 0.04:
                early = _minute(started + (opened - started) / 3)
                first_try = started - timedelta(hours=2)
                drafts.append(_PR(issue, early, first_try, opened - _START, merged=False))
            end = None if left is None else max(opened + _START, left - timedelta(minutes=3))
            script = issue.script if left is None else None
            drafts.append(_PR(issue, opened, first, end, merged=end is not None, script=script))
    return sorted(drafts, key=lambda p: (p.created, p.issue.n))


def _reviews(
    rng: random.Random, pr: _PR, author: str, anchor: datetime
) -> list[tuple[datetime, ReviewState, str]]:
    others = rng.sample([p for p in PEOPLE.values() if p != author], 2)
    if pr.script is not None:
        return [(_minute(pr.created + timedelta(days=d)), s, others[0]) for d, s in pr.script]
    if pr.merged and rng.random() < 0.07:
        return []  # merged without any review
    span, marks = (pr.end or anchor) - pr.created, sorted(rng.uniform(0.15, 0.9) for _ in range(3))
    events = [(pr.created, ReviewState.REQUESTED, others[0])]
    if rng.random() < 0.3:
        events.append((pr.created + span * marks[0], ReviewState.COMMENTED, others[1]))
    if rng.random() < 0.2:
        events.append((pr.created + span * marks[1], ReviewState.CHANGES_REQUESTED, others[0]))
    if pr.merged or rng.random() < 0.5:
        events.append((pr.created + span * marks[2], ReviewState.APPROVED, others[0]))
    return [(_minute(at), s, who) for at, s, who in events if at < anchor]


def _pr_history(rng: random.Random, n: int, pr: _PR, team: str, anchor: datetime) -> ItemHistory:
    key, issue = f"{REPO}#{n}", pr.issue
    pid, author = make_id("demo", "pr", f"{team}/{key}"), PEOPLE[issue.assignee]
    words = "".join(c if c.isalnum() else " " for c in issue.title.lower()).split()[:4]
    prefix = "fix" if issue.type == "Bug" else "feature"
    status = "merged" if pr.merged else "open" if pr.end is None else "closed"
    stage = {"merged": Stage.DONE, "open": Stage.ACTIVE, "closed": Stage.CANCELLED}[status]
    additions = int(_days(rng, 70, 1.0)) + 1
    deletions = int(additions * rng.uniform(0.1, 0.6))
    reviews = tuple(
        ReviewEvent(pid, at, s, who) for at, s, who in _reviews(rng, pr, author, anchor)
    )
    moves = (
        () if pr.end is None else (Transition(pid, pr.end, "open", status, Stage.ACTIVE, stage),)
    )
    item = WorkItem(
        id=pid,
        team=team,
        source="demo",
        key=key,
        kind=ItemKind.PULL_REQUEST,
        type="pull_request",
        title=f"PAY-{issue.n}: {issue.title}",
        status=status,
        stage=stage,
        created_at=pr.created,
        resolved_at=pr.end,
        assignee=author,
        author=author,
        updated_at=max([pr.created, *(r.at for r in reviews), *(t.at for t in moves)]),
        url=f"{BASE_URL}/{REPO}/pull/{n}",
        merged_at=pr.end if pr.merged else None,
        first_commit_at=pr.first_commit,
        additions=additions,
        deletions=deletions,
        changed_files=max(1, (additions + deletions) // 40 + rng.randint(0, 4)),
        head_branch=f"{prefix}/PAY-{issue.n}-{'-'.join(words)}",
        merge_sha=_sha(rng) if pr.merged else None,
        linked_keys=(f"PAY-{issue.n}",),
    )
    return ItemHistory(item, moves, (), reviews)


def _pipeline_runs(
    rng: random.Random, prs: list[WorkItem], team: str, anchor: datetime
) -> list[PipelineRun]:
    """CI on every pull request's branch, and on main after each merge."""
    runs: list[tuple[datetime, str, bool]] = []
    for pr in prs:
        first, end = pr.first_commit_at or pr.created_at, pr.resolved_at or anchor
        count = rng.randint(1, 3)
        for i, mark in enumerate(sorted(rng.uniform(0.2, 1.0) for _ in range(count))):
            at = _minute(first + (end - first) * mark) - _START
            runs.append((at, pr.head_branch or "main", i < count - 1 and rng.random() < 0.25))
        if pr.merged_at is not None:
            runs.append((pr.merged_at + _START, "main", rng.random() < 0.04))
    result = []
    for n, (at, branch, failed) in enumerate(sorted(r for r in runs if r[0] < anchor), 1):
        done = at + timedelta(minutes=rng.randint(3, 14))
        outcome = (
            Outcome.RUNNING if done >= anchor else Outcome.FAILURE if failed else Outcome.SUCCESS
        )
        result.append(
            PipelineRun(
                id=make_id("demo", "run", f"{team}/{n}"),
                team=team,
                source="demo",
                name="ci",
                branch=branch,
                outcome=outcome,
                started_at=at,
                finished_at=None if done >= anchor else done,
                url=f"{BASE_URL}/{REPO}/actions/runs/{n}",
            )
        )
    return result


def _deployments(
    rng: random.Random, prs: list[WorkItem], team: str, anchor: datetime, days: int
) -> list[Deployment]:
    """Production deploys on most working days; a failure is redeployed within hours."""
    merged = sorted((p.merged_at, p.id) for p in prs if p.merged_at is not None)
    out: list[Deployment] = []
    day, last_ok = _minute(anchor - timedelta(days=days)).replace(hour=14, minute=0), None
    while day < anchor:
        start, day = day + timedelta(minutes=rng.randint(0, 179)), day + timedelta(days=1)
        if start.weekday() >= 5 or rng.random() < 0.08:
            continue
        shipped = tuple(i for at, i in merged if (last_ok is None or at > last_ok) and at <= start)
        failed = rng.random() < 0.08
        if not shipped:
            continue
        retry = start + timedelta(hours=rng.uniform(1, 4))
        for at, bad in [(start, failed), (retry, False)][: 2 if failed else 1]:
            finish = _minute(at) + timedelta(minutes=rng.randint(6, 18))
            if finish >= anchor:
                break
            n = len(out) + 1
            out.append(
                Deployment(
                    id=make_id("demo", "deploy", f"{team}/{n}"),
                    team=team,
                    source="demo",
                    environment="production",
                    outcome=Outcome.FAILURE if bad else Outcome.SUCCESS,
                    finished_at=finish,
                    started_at=_minute(at),
                    sha=_sha(rng),
                    repo=REPO,
                    shipped_item_ids=shipped,
                    url=f"{BASE_URL}/{REPO}/deployments/{n}",
                    production=True,
                )
            )
            last_ok = last_ok if bad else at
    return out


def _incidents(
    rng: random.Random, deploys: list[Deployment], team: str, anchor: datetime
) -> list[Incident]:
    """A handful of incidents, each shortly after a successful deployment."""
    ok = [d for d in deploys if d.is_production_success and d.finished_at < anchor - timedelta(1)]
    chosen = sorted(rng.sample(ok, min(len(ok), rng.randint(4, 8))), key=lambda d: d.finished_at)
    out = []
    for n, deploy in enumerate(chosen, 1):
        at = deploy.finished_at + timedelta(minutes=rng.randint(15, 240))
        out.append(
            Incident(
                id=make_id("demo", "incident", f"{team}/{n}"),
                team=team,
                source="demo",
                title=rng.choice(INCIDENTS),
                created_at=at,
                acknowledged_at=at + timedelta(minutes=rng.randint(3, 25)),
                resolved_at=at + timedelta(minutes=rng.randint(60, 480)),
                urgency=rng.choice(("high", "high", "low")),
                url=f"{BASE_URL}/incidents/{n}",
                deployment_id=deploy.id,
            )
        )
    return out


def _arrivals(rng: random.Random, anchor: datetime, items: int, days: int) -> list[datetime]:
    """Creation instants spread over the history, moved into working hours."""
    start, out = anchor - timedelta(days=days), []
    for _ in range(items):
        t = _minute(start + timedelta(days=days * rng.random()))
        snapped = _snap(rng, t, t - _START)
        out.append(snapped if snapped < anchor else t)
    return sorted(out)


def generate(config: Config, anchor: datetime, team: str, workflow: Workflow) -> tuple[Record, ...]:
    """Every record of the demo data set, in page order: histories, then delivery records."""
    rng = random.Random(config.seed)
    issues = [
        _new_issue(rng, n, t)
        for n, t in enumerate(_arrivals(rng, anchor, config.items, config.days), 1)
    ]
    for issue in issues:
        _walk(rng, issue)
        _truncate(issue, anchor)
    _plant(rng, issues, anchor)
    histories = [_issue_history(i, team, workflow) for i in issues]
    drafts = _pr_drafts(rng, issues)
    histories += [_pr_history(rng, n, pr, team, anchor) for n, pr in enumerate(drafts, 1)]
    histories.sort(key=lambda h: (h.item.updated_at, h.item.id))
    prs = sorted(
        (h.item for h in histories if h.item.kind is ItemKind.PULL_REQUEST),
        key=lambda p: (p.created_at, p.id),
    )
    deploys = _deployments(rng, prs, team, anchor, config.days)
    runs = _pipeline_runs(rng, prs, team, anchor)
    return (*histories, *deploys, *runs, *_incidents(rng, deploys, team, anchor))


def _page(records: tuple[Record, ...], cursor: str, unmapped: frozenset[str]) -> Page:
    return Page(
        histories=[r for r in records if isinstance(r, ItemHistory)],
        deployments=[r for r in records if isinstance(r, Deployment)],
        pipeline_runs=[r for r in records if isinstance(r, PipelineRun)],
        incidents=[r for r in records if isinstance(r, Incident)],
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
        return _minute(now.astimezone(UTC))

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
