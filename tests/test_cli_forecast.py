"""``vsm forecast epic|label|release|filter KEY`` on the demo, and app.yaml's ``scopes:``."""

from __future__ import annotations

import json
from datetime import date

import pytest
from rich.console import Console

from bot.commands.forecast import render_forecast
from bot.config import ConfigError, parse_config
from insights.scopes import ScopeForecast, ScopeRef
from tests.conftest import demo_cli


def run(runtime, *args: str):
    return demo_cli(runtime, "forecast", *args)


@pytest.fixture
def demo(synced_demo):
    return synced_demo


def as_json(runtime, *args: str) -> dict:
    result = run(runtime, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_tracked_epic_prints_its_forecast_by_its_name(demo) -> None:
    result = run(demo, "epic", "VAULT-1")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Card vaulting (epic VAULT-1, target 2026-12-23)")
    for row in (
        "Done",
        "Left",
        "In scope",
        "Added per week",
        "85% done by",
        "Chance by 2026-12-23",
    ):
        assert row in result.output
    assert "What if" not in result.output


def test_a_release_is_forecast_by_its_fix_versions_date(demo) -> None:
    forecast = as_json(demo, "release", "2.3")["forecast"]

    assert forecast["name"].lower() == "release 2.3" and forecast["target"] == "2026-12-16"
    assert (forecast["done"], forecast["total"]) == (7, 25)


def test_a_filter_is_named_by_its_id(demo) -> None:
    unknown = run(demo, "filter", "10042")
    not_an_id = run(demo, "filter", "mine")

    assert unknown.exit_code == 2 and "no issue in 'filter 10042'" in unknown.output
    assert not_an_id.exit_code == 2 and "is not a saved filter's id" in not_an_id.output


def test_the_levers_print_a_what_if_beside_the_forecast(demo) -> None:
    result = run(demo, "release", "2.3", "--cut", "3", "--throughput", "+20%")

    assert result.exit_code == 0, result.output
    assert "What if: cut 3 items, throughput +20%" in result.output
    data = as_json(demo, "release", "2.3", "--cut", "3", "--throughput", "+20%")
    base, changed = data["forecast"], data["what_if"]["forecast"]
    assert data["what_if"]["levers"] == {"freeze_scope": False, "cut": 3, "throughput_factor": 1.2}
    assert changed["remaining"] == base["remaining"] - 3
    for c in ("p50", "p85", "p95"):
        assert changed["dates"][c] <= base["dates"][c]
    assert changed["probability"] >= base["probability"]


def test_less_throughput_forecasts_later(demo) -> None:
    data = as_json(demo, "label", "release-2.3", "--throughput", "-20%")
    base, changed = data["forecast"], data["what_if"]["forecast"]
    assert all(changed["dates"][c] >= base["dates"][c] for c in ("p50", "p85", "p95"))


def test_by_sets_the_target_and_json_has_no_what_if_without_levers(demo) -> None:
    data = as_json(demo, "epic", "VAULT-1", "--by", "2026-12-01")

    assert data["what_if"] is None and data["team"] == "payments"
    forecast = data["forecast"]
    assert forecast["target"] == "2026-12-01" and forecast["name"] == "Card vaulting"
    later = as_json(demo, "epic", "VAULT-1", "--by", "2027-03-01")["forecast"]
    assert later["probability"] >= forecast["probability"]


def test_as_of_forecasts_from_the_past(demo) -> None:
    now = as_json(demo, "label", "release-2.3")["forecast"]
    past = as_json(demo, "label", "release-2.3", "--as-of", "2026-11-01")["forecast"]
    assert past["total"] <= now["total"] and past["done"] <= now["done"]
    assert (past["done"], past["total"]) != (now["done"], now["total"])


@pytest.mark.parametrize(
    "args",
    [
        ("epic", "NOPE-1"),
        ("version", "2.3"),
        ("label", "release-2.3", "--throughput", "fast"),
        ("label", "release-2.3", "--throughput", "-100%"),
        ("label", "release-2.3", "--cut", "-1"),
        ("label", "release-2.3", "--by", "soon"),
    ],
)
def test_bad_input_is_a_usage_error(demo, args) -> None:
    result = run(demo, *args)
    assert result.exit_code == 2, result.output


def test_an_unknown_scope_names_the_team(demo) -> None:
    result = run(demo, "epic", "NOPE-1")
    assert "team payments has no issue in 'epic NOPE-1'" in result.output


def test_names_print_as_written_not_as_markup() -> None:
    ref = ScopeRef("label", "[red]x[/red]", date(2027, 1, 15), name="[bold]Release[/]")
    forecast = ScopeForecast(ref, 1, 2, 3, 0.0, dict.fromkeys((50, 85, 95)), None, 60, None)
    console = Console(record=True, width=120)
    render_forecast(console, forecast, None)
    text = console.export_text()
    assert text.startswith("[bold]Release[/] (label [red]x[/red], target 2027-01-15)")


def config(*scopes: dict) -> dict:
    return {"teams": [{"name": "payments", "scopes": list(scopes)}]}


def test_app_yaml_scopes_become_scope_refs() -> None:
    app = parse_config(
        config(
            {"epic": "PAY-100", "target": "2027-01-15"},
            {"label": "release-2.3", "target": "2027-01-15", "name": "Release 2.3"},
            {"label": "later"},
        ),
        env={},
    )
    assert app.teams[0].scope_refs() == (
        ScopeRef("epic", "PAY-100", date(2027, 1, 15), "epic PAY-100"),
        ScopeRef("label", "release-2.3", date(2027, 1, 15), "Release 2.3"),
        ScopeRef("label", "later"),
    )


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        ({"epic": "A", "label": "b"}, "teams[0].scopes[0]: got a mapping; a scope names exactly"),
        ({"target": "2027-01-15"}, "teams[0].scopes[0]: got a mapping; a scope names exactly"),
        ({"epic": " "}, "teams[0].scopes[0]: got a mapping; the epic of a scope must not"),
        ({"epic": "A", "target": "soon"}, "teams[0].scopes[0].target: got 'soon'"),
        ({"epik": "A"}, "teams[0].scopes[0].epik: unknown field"),
    ],
)
def test_a_bad_scope_names_its_field(scope: dict, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(config(scope), env={})
    assert any(p.startswith(problem) for p in error.value.problems), error.value.problems


def test_a_scope_tracked_twice_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(config({"epic": "PAY-1"}, {"epic": "PAY-1", "name": "Again"}), env={})
    assert error.value.problems == ["teams[0].scopes[1]: Again is already tracked"]


def test_a_release_and_a_saved_filter_read_by_a_jira_source_are_scopes() -> None:
    jira = {"type": "jira", "url": "https://jira.example.com", "project": "PAY", "token": "t"}
    app = parse_config(
        {
            "teams": [
                {
                    "name": "payments",
                    "sources": [{**jira, "filters": [10042]}],
                    "scopes": [{"release": "2.3"}, {"filter": 10042, "name": "Mobile"}],
                }
            ]
        },
        env={},
    )
    assert app.teams[0].scope_refs() == (
        ScopeRef("release", "2.3", None, "release 2.3"),
        ScopeRef("filter", "10042", None, "Mobile"),
    )


def test_a_saved_filter_no_source_reads_is_refused_with_what_to_do() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(config({"filter": "10042"}), env={})
    assert error.value.problems == [
        "teams[0].scopes[0].filter: no jira source of the team reads filter 10042; "
        "add 10042 to that source's filters"
    ]
