"""The README's app.yaml reference is a configuration the bot accepts, as printed."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import load_config

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_app_yaml_reference_is_a_valid_configuration(tmp_path) -> None:
    text = README.read_text(encoding="utf-8")
    [example] = re.findall(r"```yaml\n(timezone: .*?)```", text, flags=re.DOTALL)
    path = tmp_path / "app.yaml"
    path.write_text(example, encoding="utf-8")

    config = load_config(path, env={})

    [team] = config.teams
    assert team.name == "payments"
    assert [step.name for step in team.stream_steps()] == [
        "Development",
        "Waiting for review",
        "Review",
        "Release",
    ]
    assert team.agreements.traceability == (
        "untracked_merge",
        "unverified_deployment",
        "done_unmerged",
    )
