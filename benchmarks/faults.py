"""Benchmark: the fault suite, 20 trials of each fault, against real processes on PostgreSQL.

Each trial starts two ``vsm serve --http`` processes on a fresh schema with N teams whose daily
digests are all due, against the fake Slack (``tests/fake_slack.py``), and interrupts the
leader's k-th digest post (k at random): SIGKILL before Slack takes it, SIGKILL as Slack takes
it, SIGSTOP while posting (resumed once a standby leads), or the connection dropped after Slack
took it (``tests/fault_scenarios.py``). Prints, per fault: digests expected, posted, duplicated
and lost (goal: 0 duplicated, 0 lost), and the slowest failover after a freeze.

    VSM_TEST_POSTGRES_URL=postgresql://... .venv/bin/python -m benchmarks.faults [--trials N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.summary import headline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fault_scenarios import SCENARIOS, Tally, run_scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials of each fault")
    parser.add_argument("--teams", type=int, default=10, help="teams (digests) per trial")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="default: all")
    args = parser.parse_args()
    url = os.environ.get("VSM_BENCH_POSTGRES_URL") or os.environ.get("VSM_TEST_POSTGRES_URL")
    if not url:
        print("skipped: set VSM_TEST_POSTGRES_URL (or VSM_BENCH_POSTGRES_URL) to a PostgreSQL URL")
        return 0
    failed = False
    with tempfile.TemporaryDirectory(prefix="vsm-faults-") as folder:
        for scenario in args.scenario or SCENARIOS:
            started = time.perf_counter()
            tally = run_scenario(scenario, url, Path(folder), args.trials, args.teams)
            print(f"{tally.line(scenario)}  ({time.perf_counter() - started:.0f} s)", flush=True)
            report(scenario, tally)
            failed |= bool(tally.duplicated or tally.lost or tally.wrong_ts)
    return 1 if failed else 0


def report(scenario: str, tally: Tally) -> None:
    """The headline figures of one fault."""
    figure = (
        f"{tally.expected} expected, {tally.posted} posted, {tally.duplicated} duplicated, "
        f"{tally.lost} lost"
    )
    headline("faults", f"{scenario}, {tally.trials} trials", figure, "0 duplicated, 0 lost")
    if tally.slowest_failover:
        headline(
            "faults", f"{scenario}: slowest failover", f"{tally.slowest_failover:.1f} s", "< 60 s"
        )


if __name__ == "__main__":
    sys.exit(main())
