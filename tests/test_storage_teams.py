"""Records are stored per team (issue 12): a team's write or reconciliation never touches another.

Two teams may read the same vendor record (one Jira project, one repository): each keeps its own
copy, with its own stages, events, reconciliation state and delivery records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from insights.model import (
    Deployment,
    FlagChange,
    Incident,
    ItemHistory,
    ItemKind,
    LiveItems,
    Outcome,
    Page,
    PipelineRun,
    Stage,
    Transition,
    WorkItem,
)
from storage.pages import save_page
from storage.snapshots import load_snapshot

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SHARED = "jira:issue:PERF-1"


def shared_history(team: str, review_stage: Stage, moves: int = 2) -> ItemHistory:
    """PERF-1 as ``team`` sees it: in Code Review, which its workflow maps to ``review_stage``."""
    item = WorkItem(
        id=SHARED,
        team=team,
        source="jira",
        key="PERF-1",
        kind=ItemKind.ISSUE,
        type="Story",
        title="Faster search",
        status="Code Review",
        stage=review_stage,
        created_at=T0,
        updated_at=T0 + timedelta(days=1),
    )
    transitions = tuple(
        Transition(SHARED, T0 + timedelta(hours=h), "Doing", "Code Review", None, review_stage)
        for h in range(1, moves + 1)
    )
    return ItemHistory(item, transitions, (FlagChange(SHARED, T0, True),))


def test_two_teams_keep_their_own_copy_of_one_item(engine: Engine) -> None:
    save_page(engine, "alpha/jira", Page([shared_history("alpha", Stage.ACTIVE, 3)]), T0)

    save_page(engine, "beta/jira", Page([shared_history("beta", Stage.WAITING, 1)]), T0)

    alpha, beta = load_snapshot(engine, "alpha"), load_snapshot(engine, "beta")
    assert [(i.team, i.stage) for i in alpha.items] == [("alpha", Stage.ACTIVE)]
    assert [(i.team, i.stage) for i in beta.items] == [("beta", Stage.WAITING)]
    assert [t.to_stage for t in alpha.transitions[SHARED]] == [Stage.ACTIVE] * 3
    assert [t.to_stage for t in beta.transitions[SHARED]] == [Stage.WAITING]
    assert len(alpha.flags[SHARED]) == len(beta.flags[SHARED]) == 1


def test_rewriting_one_teams_item_leaves_the_other_teams_events(engine: Engine) -> None:
    save_page(engine, "alpha/jira", Page([shared_history("alpha", Stage.ACTIVE, 3)]), T0)
    save_page(engine, "beta/jira", Page([shared_history("beta", Stage.WAITING, 3)]), T0)

    save_page(engine, "beta/jira", Page([ItemHistory(shared_history("beta", Stage.DONE).item)]), T0)

    assert len(load_snapshot(engine, "alpha").transitions[SHARED]) == 3
    assert SHARED not in load_snapshot(engine, "beta").transitions


def test_a_reconciliation_of_one_team_removes_nothing_of_another(engine: Engine) -> None:
    save_page(engine, "alpha/jira", Page([shared_history("alpha", Stage.ACTIVE)]), T0)
    save_page(engine, "beta/jira", Page([shared_history("beta", Stage.WAITING)]), T0)
    gone = LiveItems("beta", "jira", ("jira:issue:PERF-",), frozenset())

    counts = save_page(engine, "beta/jira", Page(live_items=gone), T0 + timedelta(days=1))

    assert counts.removed == 1
    assert load_snapshot(engine, "beta").items == []
    assert [i.removed_at for i in load_snapshot(engine, "alpha").items] == [None]
    back = LiveItems("alpha", "jira", ("jira:issue:PERF-",), frozenset({SHARED}))
    save_page(engine, "alpha/jira", Page(live_items=back), T0 + timedelta(days=2))
    assert load_snapshot(engine, "beta").items == []  # alpha's listing revives nothing of beta


def deliveries(team: str, outcome: Outcome) -> Page:
    at = T0 + timedelta(days=1)
    return Page(
        deployments=[
            Deployment("github:deploy:acme/api/9", team, "github", "prod", outcome, at, None)
        ],
        pipeline_runs=[
            PipelineRun("github:run:acme/api/9", team, "github", "ci", "main", outcome, at)
        ],
        incidents=[Incident("github:incident:acme/api#3", team, "github", "Outage", at)],
    )


def test_two_teams_on_one_repository_keep_their_own_deliveries(engine: Engine) -> None:
    save_page(engine, "alpha/github", deliveries("alpha", Outcome.SUCCESS), T0)

    save_page(engine, "beta/github", deliveries("beta", Outcome.FAILURE), T0)

    alpha, beta = load_snapshot(engine, "alpha"), load_snapshot(engine, "beta")
    assert [d.outcome for d in alpha.deployments] == [Outcome.SUCCESS]
    assert [d.outcome for d in beta.deployments] == [Outcome.FAILURE]
    assert [r.outcome for r in alpha.pipeline_runs] == [Outcome.SUCCESS]
    assert [r.outcome for r in beta.pipeline_runs] == [Outcome.FAILURE]
    assert [i.team for i in alpha.incidents] == ["alpha"]
    assert [i.team for i in beta.incidents] == ["beta"]
