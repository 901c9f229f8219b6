"""How the demo's records are made: the cast, random walks, and the records that follow from them.

The mechanics behind :mod:`integrations.demo`, with no planted problem in them
(:mod:`integrations.demo_story` plants those): lognormal durations snapped into working hours,
issues drawn and walked through the workflow (backlog wait, rework, reopens), then turned into
item histories; pull requests drafted from each stay in Code Review, with their reviews; the
release calendar (daily deploys, or a weekly train), CI runs, production deployments and the
incidents that follow some of them. Done means live: an issue is marked Done only after the
release that shipped its last merge. Ids, shas and urls are made here too. Every draw
comes from the ``random.Random`` passed in, in a fixed order, so the data stays fully determined
by the seed and the anchor.
"""

from __future__ import annotations

import hashlib
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
TRAIN_WEEKDAY = 3  # Thursday: the day a weekly release train leaves
TRAIN_CUT = timedelta(days=2)  # its release branch is cut on the Tuesday before
_START = timedelta(minutes=1)
_BUILT = timedelta(minutes=20)  # a release ships a merge only once its main build has finished
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
    script: Script | None = None  # review events of a planted PR (days after it opened)
    reviewer: str | None = None  # the login a planted review script waits on (else drawn)
    parent_key: str | None = None  # the epic it belongs to
    releases: tuple[str, ...] = ()  # the fix versions it is planned for


@dataclass
class PrDraft:
    """A pull request for an issue's stay in Code Review, before it becomes an item history."""

    issue: Issue
    created: datetime
    first_commit: datetime
    end: datetime | None  # merged or closed at, None while open
    merged: bool
    script: Script | None = None


@dataclass(frozen=True)
class Release:
    """A production deploy: its attempts ``(started, finished, failed)``; a failure is retried.

    It ships the merges built by ``cut``: its start, or a weekly train's release branch cut.
    """

    cut: datetime
    attempts: tuple[tuple[datetime, datetime, bool], ...]

    @property
    def live_at(self) -> datetime | None:
        """When its changes reached production (None when no attempt succeeded)."""
        return next((finished for _, finished, failed in self.attempts if not failed), None)

    def ships(self, merged_at: datetime) -> bool:
        """Whether a merge at ``merged_at`` was built in time for this release."""
        return merged_at + _BUILT <= self.cut


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


def random_sha(rng: random.Random) -> str:
    """A random 40-hex commit sha."""
    return f"{rng.getrandbits(160):040x}"


def _commit(label: str) -> str:
    """The sha of a branch commit, derived from its label (no draw: the stream stays the same)."""
    return hashlib.sha1(label.encode(), usedforsecurity=False).hexdigest()


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


def releases(
    rng: random.Random, anchor: datetime, days: int, weekly_from: datetime | None
) -> list[Release]:
    """Production deploys: most working days, then a weekly train on Thursdays from ``weekly_from``.

    A train ships what was merged before its release branch was cut, ``TRAIN_CUT`` before it
    leaves. A failed attempt is retried within hours; attempts that would finish after the anchor
    are not made yet.
    """
    out, day = [], minute(anchor - timedelta(days=days)).replace(hour=14, minute=0)
    while day < anchor:
        start, day = day + timedelta(minutes=rng.randint(0, 179)), day + timedelta(days=1)
        train = weekly_from is not None and start >= weekly_from
        if start.weekday() >= 5 or (train and start.weekday() != TRAIN_WEEKDAY):
            continue
        if not train and rng.random() < 0.08:
            continue
        failed = rng.random() < 0.08
        retry = start + timedelta(hours=rng.uniform(1, 4))
        attempts = []
        for at, bad in [(start, failed), (retry, False)][: 2 if failed else 1]:
            finish = minute(at) + timedelta(minutes=rng.randint(6, 18))
            if finish >= anchor:
                break
            attempts.append((minute(at), finish, bad))
        if attempts:
            out.append(Release(start - TRAIN_CUT if train else start, tuple(attempts)))
    return out


def _live(merged_at: datetime, calendar: list[Release]) -> datetime | None:
    """When a merge at ``merged_at`` reached production (None when it has not yet)."""
    release = next((r for r in calendar if r.ships(merged_at)), None)
    return None if release is None else release.live_at


def wait_for_release(rng: random.Random, issue: Issue, calendar: list[Release]) -> None:
    """Keep the issue out of Done until its last merge is live: done means in production.

    Leaving Code Review is the merge; QA checks it on staging, and the issue is marked Done an hour
    or two after the first release that ships the merge (in working hours); the later steps and
    flags move along. An issue whose merge is not live yet stays in QA. Spikes ship no code.
    """
    steps: list[tuple[str, datetime]] = []
    shifts: list[tuple[datetime, timedelta]] = []  # (old instant, how far it moved), in order
    merged: datetime | None = None
    for status, at in issue.steps:
        shift = shifts[-1][1] if shifts else timedelta(0)
        moved = _snap(rng, at + shift, steps[-1][1]) if shift else at
        if status == "Done" and merged is not None and issue.type != "Spike":
            live = _live(merged, calendar)
            if live is None:
                break
            if moved <= live:
                moved = _snap(rng, live + timedelta(hours=rng.uniform(0.5, 3)), live)
        if steps and (steps[-1][0], status) == ("Code Review", "Ready for QA"):
            merged = moved
        steps.append((status, moved))
        shifts.append((at, moved - at))
    cut = issue.steps[len(steps)][1] if len(steps) < len(issue.steps) else None
    flags = []
    for (set_at, _), (clear_at, _) in zip(issue.flags[::2], issue.flags[1::2], strict=True):
        if cut is None or set_at < cut:
            shift = next((d for old, d in reversed(shifts) if old <= set_at), timedelta(0))
            flags += [(set_at + shift, True), (clear_at + shift, False)]
    issue.flags = flags
    issue.steps = steps


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
        parent_key=issue.parent_key,
        releases=issue.releases,
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
            merged = end is not None
            drafts.append(PrDraft(issue, opened, first, end, merged, script=issue.script))
    return sorted(drafts, key=lambda p: (p.created, p.issue.n))


def _reviews(
    rng: random.Random, pr: PrDraft, author: str, anchor: datetime
) -> list[tuple[datetime, ReviewState, str]]:
    others = rng.sample([p for p in PEOPLE.values() if p != author], 2)
    if pr.script is not None:
        who = others[0] if pr.issue.reviewer in (None, author) else pr.issue.reviewer
        return [(minute(pr.created + timedelta(days=d)), s, who) for d, s in pr.script]
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
        merge_sha=random_sha(rng) if pr.merged else None,
        linked_keys=(f"PAY-{issue.n}",),
    )
    return ItemHistory(item, moves, (), reviews)


def pipeline_runs(
    rng: random.Random, prs: list[WorkItem], team: str, anchor: datetime, released: set[str]
) -> list[PipelineRun]:
    """CI on every pull request's branch, and on main after each merge (green when released)."""
    runs: list[tuple[datetime, str, bool, str]] = []
    for pr in prs:
        first, end = pr.first_commit_at or pr.created_at, pr.resolved_at or anchor
        count = rng.randint(1, 3)
        for i, mark in enumerate(sorted(rng.uniform(0.2, 1.0) for _ in range(count))):
            at = minute(first + (end - first) * mark) - _START
            failed = i < count - 1 and rng.random() < 0.25
            runs.append((at, pr.head_branch or "main", failed, _commit(f"{pr.key}/{i}")))
        if pr.merged_at is not None and pr.merge_sha is not None:
            failed = rng.random() < 0.04 and pr.merge_sha not in released
            runs.append((pr.merged_at + _START, "main", failed, pr.merge_sha))
    result = []
    for n, (at, branch, failed, sha) in enumerate(sorted(r for r in runs if r[0] < anchor), 1):
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
                sha=sha,
            )
        )
    return result


def deployments(prs: list[WorkItem], calendar: list[Release], team: str) -> list[Deployment]:
    """Each release ships the merges built since the last one went live; it deploys the newest."""
    pending = sorted((p.merged_at, p.id, p.merge_sha) for p in prs if p.merged_at is not None)
    out: list[Deployment] = []
    for release in calendar:
        shipped = [p for p in pending if release.ships(p[0])]  # a prefix: ``pending`` is sorted
        if not shipped:
            continue
        if release.live_at is not None:
            pending = pending[len(shipped) :]
        for started, finished, failed in release.attempts:
            n = len(out) + 1
            out.append(
                Deployment(
                    id=make_id("demo", "deploy", f"{team}/{n}"),
                    team=team,
                    source="demo",
                    environment="production",
                    outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
                    finished_at=finished,
                    started_at=started,
                    sha=shipped[-1][2],
                    repo=REPO,
                    shipped_item_ids=tuple(pr_id for _, pr_id, _ in shipped),
                    url=f"{BASE_URL}/{REPO}/deployments/{n}",
                    production=True,
                )
            )
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
