"""Hostile or mistaken app.yaml: refused with exit 2 and a message, never a hang or an echo.

A YAML bomb (aliases that expand exponentially) is refused before anything walks it; duplicate
keys are refused with both lines; bytes that are not UTF-8 are named with their line. A config
error never shows the value of an unknown key, nor any value taken from the environment.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import MAX_EXPANDED_NODES, ConfigError, load_config, parse_config

VSM = Path(sys.executable).parent / "vsm"
TEAM = "teams:\n  - name: payments\n    sources: [{type: demo}]\n"
LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
"""Billion laughs: 9 ** 9 (387 million) strings from a file of about 500 bytes."""


def problems_of(text: str | bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "app.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return info.value.problems


def limit_memory() -> None:
    """Run in the child: a regression then fails with MemoryError instead of eating the host."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_a_yaml_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(LAUGHS + "teams: *i\n")
    assert len(path.read_bytes()) < 600

    result = subprocess.run(
        [str(VSM), "--config", str(path), "report"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_memory,
        check=False,
    )

    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert f"more than {MAX_EXPANDED_NODES:,} values" in result.stderr
    assert "aliases" in result.stderr


def test_aliases_that_stay_small_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(
        "teams:\n"
        "  - {name: payments, sources: [{type: demo}], "
        "workflow: &flow {Backlog: backlog, Doing: active, Done: done}}\n"
        "  - {name: search, sources: [{type: demo}], workflow: *flow}\n"
    )

    config = load_config(path, env={})

    assert config.teams[1].workflow == config.teams[0].workflow
    assert len(config.teams[1].workflow) == 3


def test_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(
        "teams:\n"
        "  - &base {name: payments, sources: [{type: demo}], channel: '#pay'}\n"
        "  - <<: *base\n"
        "    name: search\n"
    )

    config = load_config(path, env={})

    assert [(t.name, t.channel) for t in config.teams] == [
        ("payments", "#pay"),
        ("search", "#pay"),
    ]


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    (problem,) = problems_of("teams: &loop [*loop]\n", tmp_path)
    assert problem.startswith("line 1, column 8: ")
    assert "contains an alias to itself" in problem


def test_nesting_too_deep_is_refused_not_a_crash(tmp_path: Path) -> None:
    (problem,) = problems_of("teams: " + "[" * 5000 + "]" * 5000 + "\n", tmp_path)
    assert "nested too deeply" in problem


def test_a_second_teams_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    text = TEAM + "timezone: UTC\n" + TEAM.replace("payments", "search")

    (problem,) = problems_of(text, tmp_path)

    assert problem == (
        "line 5, column 1: key 'teams' appears twice in this mapping (first on line 1); "
        "YAML keeps only the last, so merge them into one"
    )


def test_duplicate_keys_are_refused_at_any_depth(tmp_path: Path) -> None:
    text = TEAM + "    workflow:\n      Done: done\n      Doing: active\n      Done: cancelled\n"

    (problem,) = problems_of(text, tmp_path)

    assert problem.startswith("line 7, column 7: key 'Done' appears twice")
    assert "(first on line 5)" in problem


def test_the_cli_exits_2_on_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(TEAM + TEAM)
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config", "--no-dry-run"])
    assert result.exit_code == 2
    assert "key 'teams' appears twice" in result.output


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path) -> None:
    text = TEAM.encode() + "    channel: '#caf\u00e9'\n".encode("latin-1")

    (problem,) = problems_of(text, tmp_path)

    assert problem == (
        "line 4, column 19: byte 0xe9 is not UTF-8; app.yaml must be saved as UTF-8 "
        "(re-save it as UTF-8 in your editor, or convert it with iconv -f <its encoding> "
        "-t UTF-8)"
    )


def test_the_cli_exits_2_on_latin1(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_bytes(TEAM.replace("payments", "caf\u00e9").encode("latin-1"))
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config", "--no-dry-run"])
    assert result.exit_code == 2, result.output
    assert "must be saved as UTF-8" in result.output


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + TEAM.encode())
    assert load_config(path, env={}).teams[0].name == "payments"


def test_a_folder_instead_of_a_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path, env={})


# -------------------------------------------------------------- values never echoed
SECRET = "s3cr3t-value-from-the-environment"


def team_with(**changes: object) -> dict[str, object]:
    team = {"name": "payments", "sources": [{"type": "demo"}], **changes}
    return {"teams": [team]}


def config_problems(data: dict[str, object], env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=env)
    return info.value.problems


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (
            team_with(sources=[{"type": "github", "pat": "${GH}", "repos": ["acme/api"]}]),
            "teams[0].sources[0].pat",
        ),
        (
            team_with(sources=[{"type": "jira", "url": "https://j.example", "auth": "${GH}"}]),
            "teams[0].sources[0].auth",
        ),
        ({**team_with(), "slack": {"bot_tokn": "${GH}"}}, "slack.bot_tokn"),
        ({**team_with(), "slack": {"bot_tokn": SECRET}}, "slack.bot_tokn"),
    ],
)
def test_an_unknown_key_never_shows_its_value(data: dict[str, object], path: str) -> None:
    problems = config_problems(data, env={"GH": SECRET})

    assert f"{path}: unknown field; remove it or check its spelling" in problems
    assert not any(SECRET in p for p in problems)


def test_a_bad_value_from_the_environment_is_named_by_its_variable() -> None:
    (problem,) = config_problems(team_with(timezone="${TEAM_TZ}"), env={"TEAM_TZ": SECRET})

    assert SECRET not in problem
    assert problem == (
        "teams[0].timezone: got '${TEAM_TZ}'; unknown time zone '${TEAM_TZ}'; use an IANA "
        "name such as 'Europe/London' or 'UTC' (values from the environment are not shown)"
    )


@pytest.mark.parametrize(
    ("data", "value", "shown_as"),
    [
        (team_with(agreements={"wip_limit": "${WIP}"}), "-7345", "-7345"),
        (team_with(agreements={"stale_after_days": "${WIP}"}), "-0.25e2", "-25.0"),
        (team_with(digest={"weekly": "${WEEKLY}"}), SECRET, SECRET),
        (
            team_with(sources=[{"type": "github", "token": "x", "repos": ["${WIP}"]}]),
            SECRET,
            SECRET,
        ),
        (team_with(sources=[{"type": "jira", "url": "${WIP}/jira", "token": "x"}]), SECRET, SECRET),
        (team_with(sources=["${WIP}"]), SECRET, SECRET),
        (team_with(name="${WIP}"), "Team S3cret", "Team S3cret"),
    ],
)
def test_no_problem_echoes_a_value_taken_from_the_environment(
    data: dict[str, object], value: str, shown_as: str
) -> None:
    problems = config_problems(data, env={"WIP": value, "WEEKLY": value})

    text = "\n".join(problems)
    assert value not in text and shown_as not in text, text
    assert "(values from the environment are not shown)" in text


def test_a_literal_value_is_still_shown() -> None:
    (problem,) = config_problems(team_with(timezone="Mars/Olympus"), env={"TZ": SECRET})
    assert problem.startswith("teams[0].timezone: got 'Mars/Olympus'; unknown time zone")
    assert "environment" not in problem
