"""Run every benchmark and print one table of their headline figures (``make bench``).

Each benchmark module runs in its own process (its full output is shown as it runs); the
headlines they record through :mod:`benchmarks.summary` are then printed as one table together
with the machine they were measured on.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.summary import SUMMARY_ENV

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__", "run_all", "summary"}
OPTIONAL = {"jam_compare"}
"""Run only when named (``python -m benchmarks.run_all jam_compare``): it installs its own venv."""


def benchmark_modules() -> list[str]:
    """Every benchmark module run by default, by name."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS | OPTIONAL)


def machine() -> str:
    """A one-line description of the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    """Run the benchmarks named on the command line (default: all) and print the table."""
    names = sys.argv[1:] or benchmark_modules()
    console = Console()
    failed = []
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as summary:
        env = {**os.environ, SUMMARY_ENV: summary.name}
        for name in names:
            console.rule(f"benchmarks.{name}")
            done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], env=env)
            if done.returncode != 0:
                failed.append(name)
        rows = [json.loads(line) for line in Path(summary.name).read_text().splitlines()]
    table = Table(title=f"Benchmarks on {machine()}", title_justify="left")
    for column in ("benchmark", "figure", "value", "goal"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["benchmark"], row["figure"], row["value"], row["goal"])
    for name in failed:
        table.add_row(name, "[red]failed[/red]", "", "")
    console.print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
