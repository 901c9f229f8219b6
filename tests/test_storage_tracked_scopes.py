"""Scopes tracked at runtime: stored per team, tracked again in place, untracked.

And :func:`bot.tracked_scopes.team_scopes`, which puts them after app.yaml's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.config import ScopeConfig, load_config
from bot.tracked_scopes import team_scopes
from insights.model import Plan, Snapshot
from insights.scopes import ScopeRef
from storage.tracked_scopes import TrackedScope, track_scope, tracked_scopes, untrack_scope
from tests.conftest import DEMO_CONFIG, NOW

RELEASE = TrackedScope("payments", "release", "Mobile 2.3", None, None, "U0ADMIN01", NOW)
EPIC = TrackedScope("payments", "epic", "PAY-100", "Vaulting", date(2027, 1, 15), "U2", NOW)


def test_tracked_scopes_are_kept_per_team_first_tracked_first(engine) -> None:
    later = replace(EPIC, added_at=NOW + timedelta(minutes=1))
    for scope in (later, RELEASE, replace(RELEASE, team="checkout")):
        track_scope(engine, scope)

    assert tracked_scopes(engine, "payments") == [RELEASE, later]
    assert tracked_scopes(engine, "checkout") == [replace(RELEASE, team="checkout")]
    assert tracked_scopes(engine, "platform") == []


def test_tracking_again_changes_name_and_target_and_keeps_who_and_when(engine) -> None:
    track_scope(engine, RELEASE)
    again = replace(
        RELEASE,
        name="Mobile",
        target=date(2027, 2, 1),
        added_by="U9",
        added_at=NOW + timedelta(days=1),
    )
    track_scope(engine, again)
    track_scope(engine, EPIC)  # tracked at the same instant: in kind and key order
    track_scope(engine, replace(EPIC, target=None))

    assert tracked_scopes(engine, "payments") == [
        replace(EPIC, target=None),
        replace(RELEASE, name="Mobile", target=date(2027, 2, 1)),
    ]


def test_untracking_removes_one_scope_of_one_team(engine) -> None:
    track_scope(engine, RELEASE)
    track_scope(engine, EPIC)
    track_scope(engine, replace(EPIC, team="checkout"))

    assert untrack_scope(engine, "payments", "epic", "PAY-100") is True
    assert untrack_scope(engine, "payments", "epic", "PAY-100") is False
    assert untrack_scope(engine, "payments", "release", "mobile 2.3") is False  # keys are exact
    assert tracked_scopes(engine, "payments") == [RELEASE]
    assert tracked_scopes(engine, "checkout") == [replace(EPIC, team="checkout")]


def test_team_scopes_put_app_yaml_first_then_slacks_at_the_vendors_dates(engine) -> None:
    team = (
        load_config(DEMO_CONFIG, env={})
        .teams[0]
        .model_copy(
            update={
                "scopes": (
                    ScopeConfig(release="2.4", name="Release 2.4"),
                    ScopeConfig(label="later"),
                )
            }
        )
    )
    plans = (
        Plan("payments", "jira", "release", "2.4", "2.4", due_on=date(2027, 1, 8)),
        Plan("payments", "jira", "release", "Mobile 2.3", "Mobile 2.3", due_on=date(2027, 2, 3)),
        Plan("payments", "jira", "filter", "10042", "Mobile bugs"),
    )
    snapshot = Snapshot("payments", [], {}, {}, {}, plans=plans)
    track_scope(engine, RELEASE)
    track_scope(engine, replace(RELEASE, kind="release", key="2.4", added_at=NOW - timedelta(1)))
    track_scope(engine, replace(RELEASE, kind="filter", key="10042", added_at=NOW + timedelta(1)))

    assert team_scopes(engine, team, snapshot) == (
        ScopeRef("release", "2.4", date(2027, 1, 8), "Release 2.4"),
        ScopeRef("label", "later"),
        ScopeRef("release", "Mobile 2.3", date(2027, 2, 3)),
        ScopeRef("filter", "10042", None, "Mobile bugs"),
    )
