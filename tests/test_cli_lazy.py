"""``vsm`` lists its commands from their modules' names and imports only the one it runs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.commands import command_modules
from bot.sync import sync_teams
from tests.conftest import DEMO_CONFIG, NOW

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "slack_bolt", "bot.commands.serve")
"""What only some commands need (charts, the Slack app)."""
RUN_IN_A_NEW_PROCESS = """
import gc, json, sys
from datetime import datetime
from click.testing import CliRunner
from bot.cli import cli
now, heavy, args = datetime.fromisoformat(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3:]
result = CliRunner().invoke(cli, args, obj=lambda: now)
loaded = sorted(name for name in heavy if name in sys.modules)
frozen = gc.get_freeze_count()
print(json.dumps({"exit_code": result.exit_code, "output": result.output, "heavy": loaded,
                  "frozen": frozen}))
"""
"""Runs ``vsm`` at ``argv[1]``, then names the modules of ``argv[2]`` it imported, and counts the
objects it froze out of the garbage collector's reach."""


def command_of(module: str) -> click.Command:
    command: click.Command = importlib.import_module(f"bot.commands.{module}").command
    return command


def test_every_command_module_defines_the_command_named_after_it() -> None:
    modules = command_modules()

    assert modules["check-config"] == "check_config" and modules["import"] == "import_csv"
    assert len(modules) == len(list((ROOT / "bot" / "commands").glob("[!_]*.py")))
    for name, module in modules.items():
        assert command_of(module).name == name


def test_help_lists_every_command_with_its_short_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])

    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1]
    for name, module in command_modules().items():
        command = command_of(module)
        first_words = " ".join((command.short_help or command.help or "").split()[:3])
        assert f"  {name} " in listed and first_words in listed, name


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["nope"])

    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output


@pytest.mark.parametrize(
    ("args", "heavy"),
    [(("report", "--json"), []), (("serve", "--help"), ["bot.commands.serve", "slack_bolt"])],
)
def test_a_command_imports_only_what_it_needs_and_report_freezes_its_snapshot(
    demo_runtime, args, heavy
) -> None:
    sync_teams(demo_runtime)
    database = str(demo_runtime.engine.url)
    options = ["--config", str(DEMO_CONFIG), "--database", database]
    argv = [NOW.isoformat(), json.dumps(HEAVY), *options, *args]

    ran = subprocess.run(
        [sys.executable, "-c", RUN_IN_A_NEW_PROCESS, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )

    result = json.loads(ran.stdout)
    assert result["exit_code"] == 0, result["output"]
    assert result["heavy"] == heavy
    if "--json" in args:
        assert json.loads(result["output"])["team"] == "payments"
        assert result["frozen"] > 0, "the report's snapshot is frozen out of the collector's reach"
    else:
        assert result["frozen"] == 0
