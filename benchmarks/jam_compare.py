"""Benchmark (optional): vsm-bot side by side with jira-agile-metrics 0.24 on the same fake Jira.

jira-agile-metrics ("jam", PyPI) is the open-source peer: it reads every issue with its changelog
through the ``jira`` library and computes cycle times, a CFD, throughput and percentiles with
pandas. It needs pandas < 2, numpy < 2 and matplotlib < 3.11, so it runs from its own venv,
``.bench-venvs/jam`` at the repository root (git-ignored), made on first use from
``benchmarks/jam_requirements.txt`` and remade when that file changes; never the project venv.

One fake Jira Cloud (``benchmarks.jira_sync.serve``: tests/fake_jira.py's generated site in a
child process, on loopback, no added latency) serves the same issues to both tools. Each round
runs, jam first in odd rounds and vsm first in even ones so machine load hits both alike:

- jam: ``jira-agile-metrics config.yml -n 0`` writing its cycle time, CFD, throughput and
  percentiles data (no charts: ``vsm report --json`` draws none either). ``-n 0`` reads every
  page: without it the ``jira`` library returns Cloud's first page only. jam has no incremental
  mode, so each run reads everything: that one run is its figure for both steps below.
- vsm: ``vsm sync`` + ``vsm report --json`` on a fresh SQLite database (first sync + report), then
  ``vsm sync`` with nothing changed + ``vsm report --json``.

Each command is a child process measured with ``os.wait4`` (its own rusage, not a maximum over
every child ever): wall time, CPU time, peak RSS. A step's time is the sum of its commands, its
memory the largest peak. Both tools' reads are checked (jam's cycle time rows, vsm's stored items
and no-change requests) so neither figure comes from a short read. Printed: each round, then one
table of medians with the ratios against the goals of issue 15: first sync + report at least 10x
faster than jam at no more than 1/10 of its memory, and at least 100x after a no-change sync.

    .venv/bin/python -m benchmarks.jam_compare [--issues 10000] [--changes 10] [--rounds 1]

``make bench`` leaves it out; ``.venv/bin/python -m benchmarks.run_all jam_compare`` runs it with
the headline table.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.jira_sync import serve
from benchmarks.summary import headline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import make_engine
from storage.snapshots import table_counts
from tests.fake_jira import API_TOKEN, CLOUD_INLINE_HISTORIES, EMAIL, WORKFLOW

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-venvs" / "jam"
REQUIREMENTS = ROOT / "benchmarks" / "jam_requirements.txt"
JAM_COLUMNS = {
    "Backlog": ["Backlog"],
    "Committed": ["Selected for Development"],
    "In Progress": ["In Progress", "Blocked"],
    "Code Review": ["Code Review"],
    "Ready for QA": ["Ready for QA"],
    "QA": ["QA"],
    "Done": ["Done", "Won't Do"],
}
"""jam's board columns over the statuses of the fake's WORKFLOW (the one vsm is given)."""
TOKEN_ENV = "BENCH_JIRA_API_TOKEN"
GOAL_FIRST, GOAL_MEMORY, GOAL_NO_CHANGE = 10.0, 10.0, 100.0
NO_CHANGE_REQUESTS = 3


@dataclass(frozen=True)
class Run:
    """One or more commands: wall and CPU seconds, peak RSS in MB, the fake's CPU seconds."""

    wall: float
    cpu: float
    peak_mb: float
    server_cpu: float = 0.0

    def __add__(self, other: Run) -> Run:
        return Run(
            self.wall + other.wall,
            self.cpu + other.cpu,
            max(self.peak_mb, other.peak_mb),
            self.server_cpu + other.server_cpu,
        )


def measured(command: list[str], log: Path, env: dict[str, str], stdout: Path | None = None) -> Run:
    """Run ``command`` to completion; its wall time and its own rusage (exit on failure)."""
    with open(log, "ab") as err, open(stdout or log, "wb" if stdout else "ab") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        sys.exit(f"{' '.join(command[:3])} ... exited {child.returncode}:\n" + "\n".join(tail))
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def jam_script() -> Path:
    """The jira-agile-metrics script; its venv is made first if missing or out of date."""
    script = VENV / "bin" / "jira-agile-metrics"
    stamp = VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if script.exists() and stamp.exists() and stamp.read_text() == wanted:
        return script
    print(f"Installing {REQUIREMENTS.name} into {VENV.relative_to(ROOT)} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted)
    return script


def write_configs(folder: Path, url: str) -> tuple[Path, Path]:
    """The config files of both tools for the fake at ``url`` (JSON is YAML to both)."""
    jam = {
        "Connection": {"Domain": url, "Username": EMAIL, "Password": API_TOKEN},
        "Query": "project = BIG",
        "Workflow": JAM_COLUMNS,
        "Output": {
            "Quantiles": [0.5, 0.85, 0.95],
            "Cycle time data": "cycletime.csv",
            "CFD data": "cfd.csv",
            "Throughput data": "throughput.csv",
            "Percentiles data": "percentiles.csv",
        },
    }
    source = {"type": "jira", "url": url, "project": "BIG", "email": EMAIL}
    vsm = {
        "timezone": "UTC",
        "teams": [
            {
                "name": "bench",
                "sources": [{**source, "api_token": "${" + TOKEN_ENV + "}"}],
                "workflow": WORKFLOW,
            }
        ],
    }
    jam_config, vsm_config = folder / "jam.yml", folder / "app.yaml"
    jam_config.write_text(json.dumps(jam, indent=2))
    vsm_config.write_text(json.dumps(vsm, indent=2))
    return jam_config, vsm_config


class Fake:
    """The fake Jira Cloud in its child process, and its request counts."""

    def __init__(self, issues: int, changes: int) -> None:
        self.pipe, theirs = multiprocessing.Pipe()
        self.child = multiprocessing.Process(
            target=serve, args=("cloud", issues, changes, 0.0, theirs), daemon=True
        )
        self.child.start()
        self.url: str = self.pipe.recv()

    def cpu(self) -> float:
        """CPU seconds the fake's process has used so far (from /proc; 0 where there is none)."""
        stat = Path(f"/proc/{self.child.pid}/stat")
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()  # fields from the 3rd (state) on
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def ask(self, command: str) -> int:
        """Send ``reset`` or ``stats``; the requests served since the last reset."""
        self.pipe.send(command)
        return sum(self.pipe.recv().values())

    def stop(self) -> None:
        self.pipe.send("stop")
        self.child.join(10)


@dataclass
class Round:
    """One round's figures: jam's run, vsm's two steps (per command) and requests."""

    jam: Run
    jam_requests: int
    vsm_sync: Run
    vsm_report: Run
    vsm_requests: int
    again_sync: Run
    again_report: Run
    again_requests: int

    @property
    def vsm_first(self) -> Run:
        return self.vsm_sync + self.vsm_report

    @property
    def vsm_again(self) -> Run:
        return self.again_sync + self.again_report


class Bench:
    """Runs each tool against the fake, in a scratch folder, checking what it read."""

    def __init__(self, fake: Fake, folder: Path, issues: int, jam: Path) -> None:
        self.fake, self.folder, self.issues, self.jam = fake, folder, issues, jam
        self.jam_config, self.vsm_config = write_configs(folder, fake.url)
        self.vsm = Path(sys.executable).parent / "vsm"
        self.env = {**os.environ, TOKEN_ENV: API_TOKEN, "MPLBACKEND": "Agg"}
        self.log = folder / "children.log"

    def measure(self, command: list[str], stdout: Path | None = None) -> Run:
        """``command`` measured, with the CPU the fake spent answering it."""
        before = self.fake.cpu()
        run = measured(command, self.log, self.env, stdout)
        return replace(run, server_cpu=self.fake.cpu() - before)

    def run_jam(self, n: int) -> tuple[Run, int]:
        out = self.folder / f"jam-{n}"
        out.mkdir()
        self.fake.ask("reset")
        run = self.measure([str(self.jam), str(self.jam_config), "-n", "0", "-o", str(out)])
        requests = self.fake.ask("stats")
        with open(out / "cycletime.csv", newline="") as rows:
            read = sum(1 for _ in csv.reader(rows)) - 1
        if read != self.issues:
            sys.exit(f"jira-agile-metrics read {read:,} of {self.issues:,} issues")
        return run, requests

    def run_vsm(self, database: str, report: Path) -> tuple[Run, Run, int]:
        base = [str(self.vsm), "--config", str(self.vsm_config), "--database", database]
        self.fake.ask("reset")
        sync = self.measure([*base, "sync"])
        requests = self.fake.ask("stats")
        done = self.measure([*base, "report", "--json"], stdout=report)
        json.loads(report.read_text())
        return sync, done, requests

    def round(self, n: int) -> Round:
        database = f"sqlite:///{self.folder / f'vsm-{n}.db'}"
        report = self.folder / f"report-{n}.json"

        def vsm_steps() -> tuple[tuple[Run, Run, int], tuple[Run, Run, int]]:
            first = self.run_vsm(database, report)
            items = table_counts(make_engine(database))["items"]
            if items != self.issues:
                sys.exit(f"vsm sync stored {items:,} of {self.issues:,} issues")
            again = self.run_vsm(database, report)
            if again[2] > NO_CHANGE_REQUESTS:
                sys.exit(f"the no-change vsm sync made {again[2]} requests")
            return first, again

        if n % 2:
            jam, jam_requests = self.run_jam(n)
            first, again = vsm_steps()
        else:
            first, again = vsm_steps()
            jam, jam_requests = self.run_jam(n)
        return Round(jam, jam_requests, *first, *again)


def median_run(runs: list[Run]) -> Run:
    """Each figure's median over the rounds."""
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_mb for r in runs),
        statistics.median(r.server_cpu for r in runs),
    )


def show_round(n: int, r: Round) -> None:
    print(
        f"round {n}: jam {r.jam.wall:.1f} s ({r.jam.cpu:.1f} s CPU, {r.jam.peak_mb:.0f} MB, "
        f"{r.jam_requests:,} requests, fake {r.jam.server_cpu:.1f} s CPU) | vsm first sync "
        f"{r.vsm_sync.wall:.1f} s ({r.vsm_sync.cpu:.1f} s CPU, {r.vsm_sync.peak_mb:.0f} MB, "
        f"{r.vsm_requests:,} requests, fake {r.vsm_sync.server_cpu:.1f} s CPU) + report "
        f"{r.vsm_report.wall:.1f} s ({r.vsm_report.peak_mb:.0f} MB) | no-change sync "
        f"{r.again_sync.wall:.2f} s ({r.again_requests} requests) + report "
        f"{r.again_report.wall:.1f} s",
        flush=True,
    )


def verdict(ratio: float, goal: float) -> str:
    return "met" if ratio >= goal else "MISSED"


def show_table(issues: int, changes: int, rounds: list[Round]) -> None:
    """The medians side by side with the ratios and goals, and the headlines."""

    def median(step: str) -> Run:
        return median_run([getattr(r, step) for r in rounds])

    jam, first, again = median("jam"), median("vsm_first"), median("vsm_again")
    sync, report = median("vsm_sync"), median("vsm_report")
    quiet, quiet_report = median("again_sync"), median("again_report")
    speed, memory = jam.wall / first.wall, jam.peak_mb / first.peak_mb
    no_change = jam.wall / again.wall
    rows = [
        (
            "first sync + report: wall",
            f"{jam.wall:.1f} s",
            f"{first.wall:.1f} s (sync {sync.wall:.1f} + report {report.wall:.1f})",
            f"{speed:.1f} x",
            f">= {GOAL_FIRST:.0f} x {verdict(speed, GOAL_FIRST)}",
        ),
        (
            "first sync + report: CPU",
            f"{jam.cpu:.1f} s",
            f"{first.cpu:.1f} s (sync {sync.cpu:.1f} + report {report.cpu:.1f})",
            f"{jam.cpu / first.cpu:.1f} x",
            "",
        ),
        (
            "first sync: the fake's CPU answering",
            f"{jam.server_cpu:.1f} s",
            f"{sync.server_cpu:.1f} s",
            "",
            "",
        ),
        (
            "first sync + report: peak RSS",
            f"{jam.peak_mb:,.0f} MB",
            f"{first.peak_mb:,.0f} MB (sync {sync.peak_mb:,.0f}, report {report.peak_mb:,.0f})",
            f"1/{memory:.1f}",
            f"<= 1/{GOAL_MEMORY:.0f} {verdict(memory, GOAL_MEMORY)}",
        ),
        (
            "no-change sync + report: wall",
            f"{jam.wall:.1f} s (reads all again)",
            f"{again.wall:.2f} s (sync {quiet.wall:.2f} + report {quiet_report.wall:.2f})",
            f"{no_change:.1f} x",
            f">= {GOAL_NO_CHANGE:.0f} x {verdict(no_change, GOAL_NO_CHANGE)}",
        ),
    ]
    print(
        f"\njira-agile-metrics 0.24 vs vsm-bot, {issues:,} issues x {changes} status changes, "
        f"fake Jira Cloud on loopback, median of {len(rounds)} round(s), load average "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    header = ("step", "jira-agile-metrics", "vsm-bot", "ratio", "goal")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    name = f"jam_compare ({issues:,} issues)"
    headline(name, "first sync + report: jam / vsm wall", f"{speed:.1f} x", ">= 10 x")
    headline(name, "first sync + report: vsm / jam peak RSS", f"1/{memory:.1f}", "<= 1/10")
    headline(name, "no-change sync + report: jam / vsm wall", f"{no_change:.1f} x", ">= 100 x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000, help="100000 for the full size")
    parser.add_argument("--changes", type=int, default=10, help="status changes per issue")
    parser.add_argument("--rounds", type=int, default=1, help="jam / vsm alternations")
    args = parser.parse_args()
    if args.changes > CLOUD_INLINE_HISTORIES:
        parser.error(
            f"--changes is at most {CLOUD_INLINE_HISTORIES}: Cloud's search inlines only that "
            "many histories an issue, and jam reads no more"
        )
    jam = jam_script()
    print(f"load average at start {' / '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    fake = Fake(args.issues, args.changes)
    try:
        with tempfile.TemporaryDirectory(prefix="jam-compare-") as folder:
            bench = Bench(fake, Path(folder), args.issues, jam)
            rounds = []
            for n in range(1, args.rounds + 1):
                rounds.append(bench.round(n))
                show_round(n, rounds[-1])
    finally:
        fake.stop()
    show_table(args.issues, args.changes, rounds)


if __name__ == "__main__":
    main()
