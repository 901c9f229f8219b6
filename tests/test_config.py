"""app.yaml loading: environment expansion, validation, and errors that name the field path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = {
    "teams": [
        {
            "name": "payments",
            "sources": [{"type": "demo", "seed": 3}],
            "workflow": {"Backlog": "backlog", "Doing": "active", "Done": "done"},
        }
    ]
}


def errors_of(data, env=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=env or {})
    return info.value.problems


def with_team(**changes):
    team = {**MINIMAL["teams"][0], **changes}
    return {"teams": [team]}


def test_the_shipped_app_yaml_and_demo_config_are_valid() -> None:
    config = load_config(ROOT / "app.yaml", env={})
    demo = load_config(ROOT / "bot" / "demo.yaml", env={})
    assert config.teams[0].name == demo.teams[0].name == "payments"
    assert config.teams[0].workflow == demo.teams[0].workflow
    assert config.teams[0].agreements.wip_limit == 10


def test_env_vars_expand_with_defaults() -> None:
    data = {**MINIMAL, "database": "${DB_URL:-sqlite:///x.db}", "slack": {"bot_token": "${TOKEN}"}}
    config = parse_config(data, env={"TOKEN": "xoxb-secret"})
    assert config.database == "sqlite:///x.db"
    assert config.slack.bot_token is not None
    assert config.slack.bot_token.get_secret_value() == "xoxb-secret"
    assert "xoxb-secret" not in repr(config)


def test_a_whole_value_env_var_becomes_a_number() -> None:
    data = with_team(agreements={"wip_limit": "${WIP}"})
    assert parse_config(data, env={"WIP": "7"}).teams[0].agreements.wip_limit == 7


def test_missing_env_var_names_the_field_and_the_variable() -> None:
    problems = errors_of({**MINIMAL, "slack": {"bot_token": "${SLACK_BOT_TOKEN}"}})
    assert problems == [
        "slack.bot_token: environment variable SLACK_BOT_TOKEN is not set; export it, "
        "or write ${SLACK_BOT_TOKEN:-default} to give a default"
    ]


def test_unknown_key_names_the_path() -> None:
    problems = errors_of(with_team(agreemnts={"wip_limit": 3}))
    assert problems[0].startswith("teams[0].agreemnts: unknown field")


def test_a_team_name_longer_than_storage_takes_is_a_config_error() -> None:
    (problem,) = errors_of(with_team(name="t" * 101))
    assert problem.startswith("teams[0].name:")
    assert "100 characters" in problem


def test_wrong_type_names_path_value_and_expectation() -> None:
    (problem,) = errors_of(with_team(agreements={"wip_limit": "lots"}))
    assert problem.startswith("teams[0].agreements.wip_limit: got 'lots';")
    assert "integer" in problem


def test_bad_time_zone_is_explained() -> None:
    (problem,) = errors_of(with_team(timezone="Europe/Lodnon"))
    assert problem.startswith("teams[0].timezone: got 'Europe/Lodnon'; unknown time zone")
    assert "Europe/London" in problem


def test_bad_source_field_names_the_source_path() -> None:
    (problem,) = errors_of(with_team(sources=[{"type": "demo", "seed": "x"}]))
    assert problem.startswith("teams[0].sources[0].seed: got 'x'")


def test_unknown_source_type_lists_the_known_ones() -> None:
    (problem,) = errors_of(with_team(sources=[{"type": "trello"}]))
    assert "teams[0].sources[0]" in problem and "'trello'" in problem and "demo" in problem


def test_bad_stage_and_digest_time() -> None:
    problems = errors_of(with_team(workflow={"Doing": "busy"}, digest={"daily": "9:3"}))
    assert any(p.startswith("teams[0].workflow.Doing: got 'busy'") for p in problems)
    assert any(p.startswith("teams[0].digest.daily: got '9:3'") for p in problems)


def test_team_timezone_defaults_to_the_global_one() -> None:
    config = parse_config({**MINIMAL, "timezone": "Europe/Berlin"}, env={})
    assert config.teams[0].timezone == "Europe/Berlin"


def test_cli_exits_2_with_the_field_path(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(
        textwrap.dedent(
            """
            teams:
              - name: payments
                sources: [{type: demo}]
                agreements: {wip_limit: -1}
            """
        )
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config", "--no-dry-run"])
    assert result.exit_code == 2
    assert "teams[0].agreements" in result.output
    assert "wip_limit must be at least 1" in result.output


def test_cli_reports_invalid_yaml_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text("teams:\n  - name: [unclosed\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "report"])
    assert result.exit_code == 2
    assert "line 3" in result.output or "line 2" in result.output


def test_errors_never_echo_secrets_or_whole_sections() -> None:
    problems = errors_of(
        {
            "slack": {"bot_token": ["xoxb-secret-1"], "signing_secret": 12345},
            "teams": [{"name": "payments", "sources": [{"type": "demo", "seed": {"x": "s3cr3t"}}]}],
        }
    )
    text = "\n".join(problems)
    assert "xoxb-secret-1" not in text and "s3cr3t" not in text and "12345" not in text
    assert "slack.bot_token: got a list of 1" in text
    assert "slack.signing_secret: got <hidden>" in text


def test_every_cli_command_scrubs_config_secrets_from_logs(tmp_path: Path) -> None:
    import logging

    secret = "gh-token-that-must-never-be-logged"
    path = tmp_path / "app.yaml"
    path.write_text(
        "teams:\n  - name: payments\n    sources:\n"
        "      - {type: github, token: '${GH_TOKEN}', repos: [acme/api]}\n"
    )
    result = CliRunner().invoke(
        cli, ["--config", str(path), "check-config", "--no-dry-run"], env={"GH_TOKEN": secret}
    )
    assert result.exit_code == 0, result.output

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("vsm.test")
    logger.addHandler(handler)
    try:
        logger.warning("calling GitHub with %s", secret)
    finally:
        logger.removeHandler(handler)
    assert len(seen) == 1
    assert secret not in seen[0] and seen[0].startswith("calling GitHub with")
