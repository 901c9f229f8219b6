"""app.yaml ``agreements.traceability``: the traceability checks a team switches on, by name."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.config import parse_config
from insights.agreements import TRACEABILITY_CHECKS
from tests.test_config import errors_of, with_team


def test_the_checks_are_off_unless_listed() -> None:
    assert parse_config(with_team(), env={}).teams[0].agreements.traceability == ()


def test_listed_checks_are_switched_on() -> None:
    data = with_team(agreements={"traceability": ["untracked_merge", "done_unmerged"]})
    agreements = parse_config(data, env={}).teams[0].agreements
    assert agreements.traceability == ("untracked_merge", "done_unmerged")


def test_a_bad_name_gives_its_field_path_and_the_known_names() -> None:
    data = with_team(agreements={"traceability": ["untracked_merge", "untracked_merges"]})
    (problem,) = errors_of(data)
    assert problem.startswith("teams[0].agreements.traceability[1]: got 'untracked_merges';")
    assert all(name in problem for name in TRACEABILITY_CHECKS)


def test_a_single_name_instead_of_a_list_names_the_field() -> None:
    (problem,) = errors_of(with_team(agreements={"traceability": "done_unmerged"}))
    assert problem.startswith("teams[0].agreements.traceability: got 'done_unmerged';")


def test_check_config_exits_2_on_a_bad_name(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(
        textwrap.dedent(
            """
            teams:
              - name: payments
                sources: [{type: demo}]
                agreements: {traceability: [unverified_deploy]}
            """
        )
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config", "--no-dry-run"])
    assert result.exit_code == 2
    assert "teams[0].agreements.traceability[0]: got 'unverified_deploy'" in result.output
