"""How the demo's records are made: the cast, random walks, and the records that follow from them.

The mechanics behind :mod:`integrations.demo`, with no planted problem in them
(:mod:`integrations.demo_story` plants those): lognormal durations snapped into working hours,
issues drawn and walked through the workflow (backlog wait, rework, reopens), then turned into
item histories; pull requests drafted from each stay in Code Review, with their reviews; CI runs,
production deployments and the incidents that follow some of them. Ids, shas and urls are made
here too. Every draw comes from the one ``random.Random`` passed in, in a fixed order, so the
data stays fully determined by the seed and the anchor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    Outcome,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Stage,
    Transition,
    WorkItem,
    make_id,
)
from insights.workflow import Workflow

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
_START = timedelta(minutes=1)
Script = tuple[tuple[float, ReviewState], ...]


@dataclass
class Issue:
    """Issue ``PAY-n`` as drawn, with the status steps and flag changes it is given."""

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
class PrDraft:
    """A pull request for an issue's stay in Code Review, before it becomes an item history."""

    issue: Issue
    created: datetime
    first_commit: datetime
    end: datetime | None  # merged or closed at, None while open
    merged: bool
    script: Script | None = None


def minute(t: datetime) -> datetime:
    """``t`` truncated to the minute."""
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
    return max(minute(t), prev + _START)


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def arrivals(rng: random.Random, anchor: datetime, items: int, days: int) -> list[datetime]:
    """Creation instants spread over the history, moved into working hours."""
    start, out = anchor - timedelta(days=days), []
    for _ in range(items):
        t = minute(start + timedelta(days=days * rng.random()))
        snapped = _snap(rng, t, t - _START)
        out.append(snapped if snapped < anchor else t)
    return sorted(out)


def new_issue(rng: random.Random, n: int, created: datetime) -> Issue:
    """Issue ``PAY-n``: its type, a title, priority, labels and assignee, still in the backlog."""
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
    return Issue(n, created, kind, title, priority, labels, rng.choice(list(PEOPLE)))


def walk(rng: random.Random, issue: Issue) -> None:
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
            issue.flags += [(minute(at), True), (minute(at + timedelta(days=held)), False)]
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


def cleared_before(
    flags: list[tuple[datetime, bool]], cut: datetime
) -> list[tuple[datetime, bool]]:
    """The (set, cleared) flag pairs that were cleared before ``cut``."""
    pairs = zip(flags[::2], flags[1::2], strict=True)
    return [flag for pair in pairs if pair[1][0] < cut for flag in pair]


def truncate(issue: Issue, anchor: datetime) -> None:
    """Keep only what happened before the anchor; drop flags not cleared by then."""
    issue.steps = [(s, at) for s, at in issue.steps if at < anchor]
    issue.flags = cleared_before(issue.flags, anchor)


def issue_history(issue: Issue, team: str, workflow: Workflow) -> ItemHistory:
    """The issue as a work item with its transitions (stages from ``workflow``) and flags."""
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


def pr_drafts(rng: random.Random, issues: list[Issue]) -> list[PrDraft]:
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
            first = minute(started + (opened - started) * rng.uniform(0.05, 0.6))
            if rng.random() < 0.04:
                early = minute(started + (opened - started) / 3)
                first_try = started - timedelta(hours=2)
                drafts.append(PrDraft(issue, early, first_try, opened - _START, merged=False))
            end = None if left is None else max(opened + _START, left - timedelta(minutes=3))
            script = issue.script if left is None else None
            drafts.append(PrDraft(issue, opened, first, end, merged=end is not None, script=script))
    return sorted(drafts, key=lambda p: (p.created, p.issue.n))


def _reviews(
    rng: random.Random, pr: PrDraft, author: str, anchor: datetime
) -> list[tuple[datetime, ReviewState, str]]:
    others = rng.sample([p for p in PEOPLE.values() if p != author], 2)
    if pr.script is not None:
        return [(minute(pr.created + timedelta(days=d)), s, others[0]) for d, s in pr.script]
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
    return [(minute(at), s, who) for at, s, who in events if at < anchor]


def pr_history(rng: random.Random, n: int, pr: PrDraft, team: str, anchor: datetime) -> ItemHistory:
    """Pull request ``#n`` as a work item: size, branch, merge sha, reviews up to the anchor."""
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


def pipeline_runs(
    rng: random.Random, prs: list[WorkItem], team: str, anchor: datetime
) -> list[PipelineRun]:
    """CI on every pull request's branch, and on main after each merge."""
    runs: list[tuple[datetime, str, bool]] = []
    for pr in prs:
        first, end = pr.first_commit_at or pr.created_at, pr.resolved_at or anchor
        count = rng.randint(1, 3)
        for i, mark in enumerate(sorted(rng.uniform(0.2, 1.0) for _ in range(count))):
            at = minute(first + (end - first) * mark) - _START
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


def deployments(
    rng: random.Random, prs: list[WorkItem], team: str, anchor: datetime, days: int
) -> list[Deployment]:
    """Production deploys on most working days; a failure is redeployed within hours."""
    merged = sorted((p.merged_at, p.id) for p in prs if p.merged_at is not None)
    out: list[Deployment] = []
    day, last_ok = minute(anchor - timedelta(days=days)).replace(hour=14, minute=0), None
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
            finish = minute(at) + timedelta(minutes=rng.randint(6, 18))
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
                    started_at=minute(at),
                    sha=_sha(rng),
                    repo=REPO,
                    shipped_item_ids=shipped,
                    url=f"{BASE_URL}/{REPO}/deployments/{n}",
                    production=True,
                )
            )
            last_ok = last_ok if bad else at
    return out


def incidents(
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
