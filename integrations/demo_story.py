"""The demo's story: the problems planted in an otherwise healthy team, relative to the anchor.

At the anchor the team has items aging in progress (one of them in a stale review), a blocked
item, two items flagged days ago and never cleared, pull requests waiting for review, a queue
growing in front of QA, WIP above its limit, and a little fresh, healthy work (one pull request
merged today, after its review waited for days). :func:`plant` rewrites open issues (drawn by
:mod:`integrations.demo_mechanics`) into these roles and rolls other recent work back, so what is
in progress at the anchor is exactly the planted picture.

Across tools: ``TRAIN_DAYS`` before the anchor the team moved from daily deploys to a weekly
release train (:func:`release_calendar`), so merged code now waits days for production, the
stream's dominant wait; and one production deployment shipped a commit no CI run built
(:func:`plant_untraced_deploy`).

Two scopes to plan with (:func:`plant_scopes`): the epic ``VAULT-1`` "Card vaulting"
(``EPIC_CHILDREN`` children, most done, at a steady pace: on track) and the release: fix version
``2.3``, also labelled ``release-2.3`` (``RELEASE_ITEMS`` items, ``RELEASE_GROWTH`` of them added
in the last week: at risk of missing its release date, three weeks after the anchor, which Jira
holds as the version's date, :func:`release_plans`). They are chosen among
the drawn issues without a draw, so every other record stays as it was.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from insights.model import Deployment, Plan, ReviewState
from integrations.demo_mechanics import (
    FINISHED,
    Issue,
    Release,
    Script,
    cleared_before,
    minute,
    random_sha,
    releases,
)

RECENT_DAYS, QUICK_DAYS = 16, 8
WAITING_ON = ("eli-novak", "fhaddad", "amara-o")
"""Whom the three pull requests waiting for a first review wait on: Eli (matched across Jira and
GitHub in the demo's ``people:``), Farah (left out of it) and Amara."""
TRAIN_DAYS = 38  # the whole 30-day report window, and a little of the 30 days before
EPIC_KEY, EPIC_DAYS, EPIC_CHILDREN, EPIC_OPEN = "VAULT-1", 70, 15, 3
"""The planted epic ("Card vaulting"): its key, age in days, children and how many are open."""
RELEASE_LABEL, RELEASE_ITEMS, RELEASE_GROWTH, RELEASE_DONE = "release-2.3", 25, 10, 7
"""The planted release: its label, items, items added in the last week, and items done."""
RELEASE_VERSION = "2.3"
"""The planted release's fix version: its items carry it as well as the label."""
RELEASE_DAYS = 42
"""The release's items were created over the last six weeks."""
DUE_DAYS = {EPIC_KEY: 28, RELEASE_VERSION: 21}
"""Days after the anchor each planted scope is due (its ``target`` in the demo's ``scopes:``)."""


@dataclass(frozen=True)
class _Role:
    """A planted problem: its (status, days before the anchor) steps, flag age, review script.

    ``reviewer`` is the login the script's reviews come from (drawn when None).
    """

    steps: list[tuple[str, float]]
    flagged: float | None = None
    script: Script | None = None
    reviewer: str | None = None


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
    requested = ((0, ReviewState.REQUESTED),)
    for reviewer in WAITING_ON:  # review requested 2-4 days ago, nothing since
        r = rng.uniform(2.2, 3.8)
        roles.append(
            _Role([(sel, r + 5), (ip, r + 4), (cr, r)], script=requested, reviewer=reviewer)
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
    late = (*requested, (3.5, ReviewState.APPROVED))  # a review that waited days, merged today
    roles.append(_Role([(sel, 7.8), (ip, 6.8), (cr, 3.8), (rfqa, 0.3)], script=late))
    return roles


def _pick(issues: list[Issue], used: set[int], start: datetime) -> Issue | None:
    """An unused open issue created before ``start``: in progress, else the newest in backlog."""

    def preference(i: Issue) -> tuple[bool, float]:
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


def _started(issue: Issue) -> datetime | None:
    """When the issue's work started (None when it never did)."""
    if not issue.steps or issue.steps[0][0] == "Won't Do":
        return None
    return issue.steps[0][1]


def _quick(issue: Issue, start: datetime) -> bool:
    """True for an issue done within ``QUICK_DAYS`` of its ``start``."""
    done = bool(issue.steps) and issue.steps[-1][0] == "Done"
    return done and issue.steps[-1][1] - start <= timedelta(days=QUICK_DAYS)


def plant(rng: random.Random, issues: list[Issue], anchor: datetime) -> None:
    """Rewrite open issues into the planted problems (work in progress first, then backlog).

    Other work still open at the anchor, or started in the last ``RECENT_DAYS`` and not a quick
    fix, is rolled back to the backlog (or to its last finish): what is in progress at the anchor
    is the planted picture, WIP climbs towards it instead of peaking before it, and throughput
    dips but does not stop.
    """
    used: set[int] = set()
    for role in _roles(rng):
        steps = [(s, minute(anchor - timedelta(days=d))) for s, d in role.steps]
        issue = _pick(issues, used, steps[0][1])
        if issue is None:
            continue
        used.add(issue.n)
        issue.steps, issue.script, issue.flags = steps, role.script, []
        issue.reviewer = role.reviewer
        if role.flagged is not None:
            issue.flags = [(minute(anchor - timedelta(days=role.flagged)), True)]
    recent = anchor - timedelta(days=RECENT_DAYS)
    for issue in issues:
        if issue.n in used:
            continue
        start = _started(issue)
        if start is not None and start >= recent and not _quick(issue, start):
            issue.steps = []  # the planted items are the work started lately, bar quick fixes
        while issue.steps and issue.steps[-1][0] not in FINISHED:
            issue.steps.pop()
        issue.flags = cleared_before(
            issue.flags, issue.steps[-1][1] if issue.steps else issue.created
        )
    plant_scopes(issues, anchor, used)


def plant_scopes(issues: list[Issue], anchor: datetime, planted: set[int]) -> None:
    """Give the epic ``EPIC_KEY`` its children and label the release's items.

    The epic lives in the program's own project (``VAULT``), as epics shared by teams often do:
    only its children are the team's issues. Only issues that are done or never started (never
    cancelled) and not ``planted`` roles join a scope, each one at most. The epic's children were
    created after it started; its done ones are spread evenly over their finish dates (a steady
    pace). The release takes the newest unstarted issues as last week's growth, and older done
    and unstarted ones created over ``RELEASE_DAYS``.
    """
    started = minute(anchor - timedelta(days=EPIC_DAYS))
    taken = set(planted)

    def pick(fits: list[Issue], count: int) -> list[Issue]:
        chosen = _spread([i for i in fits if i.n not in taken], count)
        taken.update(i.n for i in chosen)
        return chosen

    done = sorted((i for i in issues if _done(i)), key=lambda i: i.steps[-1][1])
    unstarted = sorted((i for i in issues if not i.steps), key=lambda i: i.created)
    since_epic = [i for i in done if i.created > started]
    older = [i for i in unstarted if started < i.created < anchor - timedelta(days=10)]
    for child in pick(since_epic, EPIC_CHILDREN - EPIC_OPEN) + pick(older, EPIC_OPEN):
        child.parent_key = EPIC_KEY
    week = anchor - timedelta(days=7)
    grown = [i for i in unstarted if i.created >= week][-RELEASE_GROWTH:]
    taken.update(i.n for i in grown)
    first = anchor - timedelta(days=RELEASE_DAYS)
    release = grown + pick([i for i in done if first <= i.created < week], RELEASE_DONE)
    waiting = [i for i in unstarted if first <= i.created < week]
    release += pick(waiting, RELEASE_ITEMS - len(release))
    for issue in release:
        issue.labels = (*issue.labels, RELEASE_LABEL)
        issue.releases = (*issue.releases, RELEASE_VERSION)


def release_plans(anchor: datetime, team: str) -> list[Plan]:
    """The planted release as Jira holds it: fix version ``RELEASE_VERSION``, due on its date."""
    due = due_dates(anchor)[RELEASE_VERSION]
    return [Plan(team, "demo", "release", RELEASE_VERSION, RELEASE_VERSION, due_on=due)]


def due_dates(anchor: datetime) -> dict[str, date]:
    """The planted scopes' target dates (epic key or label -> date) for a demo at ``anchor``."""
    return {scope: (anchor + timedelta(days=days)).date() for scope, days in DUE_DAYS.items()}


def _done(issue: Issue) -> bool:
    return bool(issue.steps) and issue.steps[-1][0] == "Done"


def _spread(issues: list[Issue], count: int) -> list[Issue]:
    """``count`` of ``issues`` (in their order) evenly apart, the last one included."""
    if len(issues) <= count:
        return list(issues)
    step = len(issues) / count
    return [issues[len(issues) - 1 - int(k * step)] for k in reversed(range(count))]


def release_calendar(rng: random.Random, anchor: datetime, days: int) -> list[Release]:
    """Daily deploys until ``TRAIN_DAYS`` before the anchor, a weekly release train since."""
    return releases(rng, anchor, days, weekly_from=anchor - timedelta(days=TRAIN_DAYS))


def plant_untraced_deploy(rng: random.Random, deploys: list[Deployment]) -> list[Deployment]:
    """The latest release went out from a hotfix commit built on a laptop: no CI run built it."""
    latest = max(
        (d for d in deploys if d.is_production_success), key=lambda d: d.finished_at, default=None
    )
    sha = random_sha(rng)
    return [dataclasses.replace(d, sha=sha) if d is latest else d for d in deploys]
