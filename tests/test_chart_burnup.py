"""The burn-up chart: history, forecast fan and target of a scope; ``vsm chart burnup``.

And which scope a person names (:func:`bot.tracked_scopes.find_scope`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from click.testing import CliRunner
from matplotlib.dates import date2num

from bot.charts import render_chart
from bot.charts.burnup import draw_burnup
from bot.charts.request import ChartRequest
from bot.cli import cli
from bot.config import ScopeConfig, load_config
from bot.sync import sync_teams
from bot.tracked_scopes import find_scope
from insights.model import Plan
from insights.scopes import ScopeRef, scope_forecast, scope_model
from integrations.demo_story import due_dates
from storage.snapshots import load_snapshot
from storage.tracked_scopes import TrackedScope, track_scope
from tests.conftest import DEMO_CONFIG, NOW
from tests.detector_fixtures import SnapshotBuilder, ago

PNG = b"\x89PNG\r\n\x1a\n"
TEAM = load_config(DEMO_CONFIG, env={}).teams[0]
TODAY = NOW.astimezone(TEAM.zone).date()


def scope_snapshot(label: str = "r1"):
    """Ten items with ``label``, one created and one done every other day: steady work."""
    builder = SnapshotBuilder()
    for n in range(1, 11):
        moves = [("In Progress", ago(40 - 4 * n)), ("Done", ago(38 - 4 * n))] if n <= 6 else []
        builder.issue(f"PAY-{n}", *moves, created=ago(42 - 4 * n))
    for n in range(20, 40):  # the team's other finished work: its throughput
        builder.finished(f"PAY-{n}", ago(n - 10), 2)
    builder.items[:10] = [replace(i, labels=(label,)) for i in builder.items[:10]]
    return builder.build()


def fan_ends(chart) -> dict[float, float]:
    """The fan lines' end points (x as matplotlib dates), from today's done items."""
    (ax,) = chart.figure.axes
    ends = {}
    for line in ax.get_lines():
        xs, ys = line.get_xdata(), line.get_ydata()
        if len(xs) == 2 and line.get_linestyle() == "-":
            ends[float(date2num(xs[1]))] = float(ys[1])
    return ends


def texts(chart) -> list[str]:
    return [t.get_text() for ax in chart.figure.axes for t in ax.texts]


def test_the_fan_ends_at_the_forecast_dates_and_the_title_gives_the_chance() -> None:
    snapshot = scope_snapshot()
    scope = ScopeRef("label", "r1", TODAY + timedelta(days=30), "Release 1")
    forecast = scope_forecast(snapshot, scope, NOW, TEAM.zone)

    chart = draw_burnup(ChartRequest(snapshot, TEAM, NOW), scope)

    assert to_png_ok(chart)
    assert chart.header.chart == f"Burn-up of Release 1: {forecast.probability:.0%} chance by " + (
        f"{scope.target.day} {scope.target:%b %Y}"
    )
    noon = {q: float(date2num(datetime.combine(d, time(12)))) for q, d in forecast.dates.items()}
    assert set(fan_ends(chart)) == set(noon.values())
    for q, day in forecast.dates.items():
        assert f"{q}%: {day.day} {day:%b}" in texts(chart)
    assert any(t.startswith("target ") for t in texts(chart))
    assert f"{forecast.done} of {forecast.total} items done" in chart.alt_text


def to_png_ok(chart) -> bool:
    from bot.charts.style import to_png

    return to_png(chart.figure).startswith(PNG)


def test_a_grown_scope_ends_its_fan_higher_than_a_frozen_one() -> None:
    snapshot = scope_snapshot()
    scope = ScopeRef("label", "r1")
    forecast = scope_forecast(snapshot, scope, NOW, TEAM.zone)

    ends = fan_ends(draw_burnup(ChartRequest(snapshot, TEAM, NOW), scope))

    assert forecast.growth_per_week > 0
    assert all(total > forecast.total for total in ends.values())


def test_without_a_scope_it_draws_app_yamls_first_or_says_none_is_tracked() -> None:
    snapshot = scope_snapshot("release-2.3")
    team = TEAM.model_copy(update={"scopes": (ScopeConfig(label="release-2.3", name="R 2.3"),)})
    tracked = render_chart("burnup", snapshot, team, NOW)
    untracked = render_chart("burnup", snapshot, TEAM.model_copy(update={"scopes": ()}), NOW)

    assert "Burn-up of R 2.3 for payments" in tracked.alt_text
    assert tracked.filename == "burnup-payments-2026-11-25.png"
    assert "not enough data yet" in untracked.alt_text
    assert "tracks no scope yet" in untracked.alt_text


def test_a_scope_without_items_says_so_and_names_with_dollars_draw_as_text() -> None:
    snapshot = scope_snapshot()
    empty = render_chart("burnup", snapshot, TEAM, NOW, scope=ScopeRef("epic", "PAY-999"))
    odd = render_chart("burnup", snapshot, TEAM, NOW, scope=ScopeRef("label", "r1", None, "$x^$"))

    assert "No open or done item is in the epic PAY-999" in empty.alt_text
    assert empty.filename == "burnup-payments-PAY-999-2026-11-25.png"
    assert odd.png.startswith(PNG) and "Burn-up of $x^$" in odd.alt_text


def test_only_the_burnup_takes_a_scope() -> None:
    with pytest.raises(ValueError, match="only the burnup chart takes a scope"):
        render_chart("aging", scope_snapshot(), TEAM, NOW, scope=ScopeRef("label", "r1"))


def test_find_scope_uses_the_tracked_name_and_target_else_the_vendors(sqlite_engine) -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-7", type="Epic")
    builder.items[-1] = replace(builder.items[-1], due_on=date(2027, 3, 1))
    plans = (
        Plan("payments", "jira", "release", "2.4", "2.4", due_on=date(2027, 2, 5)),
        Plan("payments", "jira", "release", "m9", "Mobile 9", due_on=date(2027, 4, 1)),
        Plan("payments", "jira", "filter", "10042", "Mobile bugs", item_keys=("PAY-7",)),
    )
    snapshot = replace(builder.build(), plans=plans)
    team = TEAM.model_copy(
        update={"scopes": (ScopeConfig(label="r1", name="Release 1", target=date(2027, 1, 8)),)}
    )
    slack = TrackedScope("payments", "release", "2.4", None, date(2027, 1, 20), "U1", NOW)
    track_scope(sqlite_engine, slack)

    def find(kind, key, target=None) -> ScopeRef:
        return find_scope(sqlite_engine, team, snapshot, kind, key, target)

    assert find("label", "R1") == ScopeRef("label", "r1", date(2027, 1, 8), "Release 1")
    assert find("label", "r1", date(2027, 2, 1)).target == date(2027, 2, 1)
    assert find("release", "2.4") == ScopeRef("release", "2.4", date(2027, 1, 20))
    assert find("release", "m9") == ScopeRef("release", "m9", date(2027, 4, 1), "Mobile 9")
    assert find("filter", "10042") == ScopeRef("filter", "10042", None, "Mobile bugs")
    assert find("epic", "PAY-7") == ScopeRef(
        "epic", "PAY-7", date(2027, 3, 1), "Work on PAY-7 (PAY-7)"
    )
    assert find("epic", "PAY-8").name == "epic PAY-8"


@pytest.fixture
def run(demo_runtime):
    sync_teams(demo_runtime)
    db = str(demo_runtime.engine.url)

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--config", str(DEMO_CONFIG), "--database", db, *args])

    return invoke


def test_vsm_chart_burnup_draws_the_demo_epic_and_release(run, tmp_path) -> None:
    as_of = ("--as-of", NOW.isoformat())
    epic = run("chart", "burnup", "--epic", "vault-1", *as_of, "--out", str(tmp_path / "e.png"))
    release = run("chart", "burnup", "--release", "2.3", *as_of,
                  "--out", str(tmp_path / "r.png"))  # fmt: skip

    assert epic.exit_code == 0, epic.output
    assert "Burn-up of Card vaulting" in epic.output and "12 of 15 items done" in epic.output
    assert (tmp_path / "e.png").read_bytes().startswith(PNG)
    assert release.exit_code == 0, release.output
    assert "burn-up of release 2.3" in release.output.lower()  # tracked, or named by its key
    assert "7 of 25 items done" in release.output
    assert "chance to be done by 16 Dec 2026" in release.output  # the fix version's date


def test_vsm_chart_burnup_without_a_scope_draws_the_first_tracked_from_slack(
    run, demo_runtime, tmp_path
) -> None:
    slack = TrackedScope("payments", "epic", "VAULT-1", None, date(2027, 1, 8), "U1", NOW)
    track_scope(demo_runtime.engine, slack)
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text(re.sub(r"    scopes:\n(      - .*\n)+", "", DEMO_CONFIG.read_text()))

    result = CliRunner().invoke(
        cli,
        ["--config", str(app_yaml), "--database", str(demo_runtime.engine.url), "chart",
         "burnup", "--as-of", NOW.isoformat(), "--out", str(tmp_path / "b.png")],
    )  # fmt: skip

    assert load_config(app_yaml, env={}).teams[0].scope_refs() == ()
    assert result.exit_code == 0, result.output
    assert "Burn-up of epic VAULT-1" in result.output  # the epic is in another team's project
    assert "chance to be done by 8 Jan 2027" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("aging", "--release", "2.3"), "--filter only apply to the burnup chart"),
        (("burnup", "--epic", "PAY-1", "--release", "r1"), "give one of --epic, --label"),
        (("burnup", "--epic", "vaulting"), "is not an epic key"),
        (("burnup", "--filter", "mine"), "is not a saved filter's id"),
    ],
)
def test_bad_scope_options_are_usage_errors(run, tmp_path, args, message) -> None:
    result = run("chart", *args, "--out", str(tmp_path / "x.png"))

    assert result.exit_code == 2
    assert message in result.output


def test_the_demo_epic_is_on_track_and_its_release_fell_at_risk_last_week(demo_runtime) -> None:
    sync_teams(demo_runtime)
    team = demo_runtime.config.teams[0]
    snapshot = load_snapshot(demo_runtime.engine, team.name, tuple(team.workflow))
    release, epic = (ref.at_vendor(snapshot) for ref in team.scope_refs())

    def chance(ref: ScopeRef, at) -> float:
        probability = scope_forecast(snapshot, ref, at, team.zone).probability
        assert probability is not None
        return probability

    assert due_dates(NOW) == {epic.key: epic.target, release.key: release.target}
    assert chance(epic, NOW) > 0.95
    assert chance(release, NOW - timedelta(days=7)) > 0.7 > 0.2 > chance(release, NOW)
    grown = scope_model(snapshot, release, NOW, team.zone).added_since(TODAY - timedelta(days=7))
    assert grown == 10
