"""Benchmark: 20 concurrent signed slash commands against ``vsm serve --http`` and a fake Slack.

Starts the fake Slack Web API (``tests/fake_slack.py``), syncs two demo teams (the demo's
``payments`` and a second one seeded differently, each with its own channel) into a temporary
SQLite file with ``vsm sync``, runs ``vsm serve --http --no-scheduler`` as a child process, then
fires rounds of 20 concurrent ``/vsm`` commands, each signed like Slack signs them. Per scenario
it prints the ack latency (HTTP response) p50/p99, the time to the full answer (the reply on the
command's response_url, which for charts comes after the PNG upload; for ``help`` the ack
itself) p50/p95, and the CPU seconds the server and its chart processes spent per round (what
the answers cost, whatever else the machine was doing).
Goals (issue 6): ack p99 under 100 ms, full answer with a chart p95 under 1.5 s; issue 15 asks the
same p95 of 20 different charts (kinds x windows x teams) at once.

    .venv/bin/python -m benchmarks.slack_latency [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import requests
import yaml
from slack_sdk.signature import SignatureVerifier

from benchmarks.summary import headline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_slack import BOT_TOKEN, WORKSPACE, FakeSlack  # noqa: E402

SECRET = "benchmark-signing-secret"
CONCURRENCY = 20
SETTLE_SECONDS = 5
POLL_SECONDS = 0.2
"""How often the answers are looked for (their times come from the fake, not from the polls)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MAX_WINDOW_DAYS = 365
"""The longest window ``/vsm`` accepts."""
FRESH_WINDOWS_FROM = 120
"""The shortest window of the 20-different scenarios (the others ask for shorter ones)."""
CHART_KINDS = ("cfd", "scatter", "aging", "throughput", "forecast")
ALL_CHART_KINDS = (*CHART_KINDS, "dora")


@dataclass(frozen=True)
class Team:
    """A team of the benchmark's config, its demo seed and its channel."""

    name: str
    seed: int
    channel_id: str
    channel_name: str


TEAMS = (
    Team("payments", 7, "C0PAYMENTS", "payments-flow"),
    Team("platform", 11, "C0PLATFORM", "platform-flow"),
)
PAYMENTS = TEAMS[0]
Command = tuple[str, Team]
"""A command's text and the team whose channel it is sent from."""
MIXED = (
    "flow",
    "aging",
    "blocked",
    "prs",
    "dora",
    "forecast when 20",
    "status",
    "flow 30d",
    "forecast by 2099-01-01",
    "chart cfd",
)
Scenario = Callable[[int], list[Command]]
"""The 20 commands of one round (given the round number)."""


def in_payments(texts: list[str]) -> list[Command]:
    """``texts`` sent from the payments channel."""
    return [(text, PAYMENTS) for text in texts]


_unused_windows = itertools.count(MAX_WINDOW_DAYS, -1)
_unused_users = itertools.count()
"""Every command comes from a new user: a chart goes to the user's DM, and the bot posts at most
one message a second in a channel, which would delay a user's chart of the next round."""


def fresh_window() -> int:
    """A window in days no chart of this run asked for yet (so its chart is drawn afresh)."""
    window = next(_unused_windows)
    if window < FRESH_WINDOWS_FROM:
        raise RuntimeError("out of unused chart windows: run fewer rounds")
    return window


def different_charts(kinds: tuple[str, ...], teams: tuple[Team, ...]) -> Scenario:
    """20 charts no earlier command asked for, of ``kinds`` x ``teams`` in turn."""
    return lambda _round: [
        (f"chart {kinds[i % len(kinds)]} {fresh_window()}d", teams[i % len(teams)])
        for i in range(CONCURRENCY)
    ]


SCENARIOS: dict[str, Scenario] = {
    "first 20 after start: mixed, 2 charts (cold caches, imports)": lambda r: in_payments(
        [*MIXED, *MIXED]
    ),
    "help (the answer is the ack itself)": lambda r: in_payments(["help"] * CONCURRENCY),
    "mixed: 18 queries, 2 charts": lambda r: in_payments(
        [*MIXED[:-1], f"chart cfd {100 + r}d"] * 2
    ),
    "charts: 5 kinds x 4 users (same chart, one render)": lambda r: in_payments(
        [f"chart {CHART_KINDS[i % 5]} {60 + r}d" for i in range(CONCURRENCY)]
    ),
    "charts: 20 different (20 renders)": different_charts(CHART_KINDS, (PAYMENTS,)),
    "charts: 20 different, 6 kinds x 2 teams (20 renders)": different_charts(
        ALL_CHART_KINDS, TEAMS
    ),
}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, api_url: str) -> Path:
    """The demo config with Slack pointed at the fake, and one demo team per entry of TEAMS."""
    config = yaml.safe_load((ROOT / "bot" / "demo.yaml").read_text())
    config["database"] = f"sqlite:///{folder / 'vsm.db'}"
    demo = config["teams"][0]
    config["teams"] = [
        {
            **demo,
            "name": team.name,
            "channel": f"#{team.channel_name}",
            "sources": [{**demo["sources"][0], "seed": team.seed}],
        }
        for team in TEAMS
    ]
    config["slack"] = {
        "bot_token": "${SLACK_BOT_TOKEN}",
        "signing_secret": "${SLACK_SIGNING_SECRET}",
        "api_url": api_url,
    }
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def serve_fake() -> None:
    """Child mode: run the fake Slack until stdin closes (keeps its work off our GIL)."""
    with FakeSlack() as fake:
        for team in TEAMS:
            fake.add_channel(team.channel_id, team.channel_name)
        print(fake.url, flush=True)
        sys.stdin.read()


def answer_times(fake_url: str) -> dict[str, float]:
    """When each response_url got its answer (monotonic, shared by processes on Linux)."""
    calls = requests.get(f"{fake_url}/_calls", timeout=10).json()
    return {c["params"]["_name"]: c["at"] for c in calls if c["method"] == "response"}


def fire(port: int, fake_url: str, commands: list[Command]) -> tuple[list[float], list[float]]:
    """Send ``commands`` at once; return ack latencies and full-answer latencies (seconds)."""
    barrier = threading.Barrier(len(commands))
    acks: list[float] = [0.0] * len(commands)
    sent: list[float] = [0.0] * len(commands)
    answered_in_ack: list[bool] = [False] * len(commands)
    names = [uuid.uuid4().hex for _ in commands]
    users = [f"U{next(_unused_users):08d}" for _ in commands]
    verifier = SignatureVerifier(SECRET)

    def send(index: int) -> None:
        text, team = commands[index]
        body = urlencode(
            {
                "command": "/vsm",
                "text": text,
                "user_id": users[index],
                "channel_id": team.channel_id,
                "channel_name": team.channel_name,
                "team_id": WORKSPACE,
                "response_url": f"{fake_url}/response/{names[index]}",
            }
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
        }
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.connect()
        barrier.wait()
        sent[index] = time.monotonic()
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        acks[index] = time.monotonic() - sent[index]
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {content!r}")
        answered_in_ack[index] = bool(content)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 60
    while True:
        answered = answer_times(fake_url)
        if all(answered_in_ack[i] or name in answered for i, name in enumerate(names)):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("some commands were never answered")
        time.sleep(POLL_SECONDS)
    answers = [
        acks[i] if answered_in_ack[i] else answered[name] - sent[i] for i, name in enumerate(names)
    ]
    return acks, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Measured rounds per scenario.")
    parser.add_argument(
        "--only",
        default="",
        metavar="TEXT",
        help="Run only the scenarios whose name contains TEXT (and the first, which warms up).",
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake()
        return
    vsm = str(Path(sys.executable).parent / "vsm")
    fake = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.slack_latency", "--serve-fake"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None and fake.stdin is not None
    fake_url = fake.stdout.readline().strip()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), f"{fake_url}/api/")
        env = {
            **os.environ,
            "VSM_CONFIG": str(config),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
        }
        subprocess.run([vsm, "sync"], env=env, check=True, capture_output=True)
        port = free_port()
        log = (Path(tmp) / "serve.log").open("w")
        server = subprocess.Popen(
            [vsm, "serve", "--http", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/health")
            time.sleep(SETTLE_SECONDS)  # let the chart processes finish importing matplotlib
            print(f"vsm serve --http (pid {server.pid}); {CONCURRENCY} concurrent commands a round")
            print(f"load average before: {load_average()}")
            header = (
                f"{'scenario':<64} {'ack p50':>8} {'ack p99':>8} {'ans p50':>8} {'ans p95':>8} "
                f"{'cpu/round':>10}"
            )
            print(header)
            for number, (name, commands) in enumerate(SCENARIOS.items()):
                if number > 0 and args.only not in name:
                    continue
                rounds = 1 if number == 0 else args.rounds
                acks: list[float] = []
                answers: list[float] = []
                cpu_before = cpu_seconds(server.pid)
                for round_number in range(rounds):
                    round_acks, round_answers = fire(port, fake_url, commands(round_number))
                    acks += round_acks
                    answers += round_answers
                cpu = (cpu_seconds(server.pid) - cpu_before) / rounds
                label = f"{name} [{rounds}x{CONCURRENCY}]"
                headline(
                    "slack_latency",
                    name,
                    f"ack p99 {percentile(acks, 0.99) * 1000:.0f} ms, "
                    f"answer p95 {percentile(answers, 0.95) * 1000:.0f} ms",
                    "ack p99 < 100 ms, answer p95 < 1.5 s",
                )
                print(
                    f"{label:<64} {percentile(acks, 0.5) * 1000:6.0f}ms "
                    f"{percentile(acks, 0.99) * 1000:6.0f}ms "
                    f"{percentile(answers, 0.5) * 1000:6.0f}ms "
                    f"{percentile(answers, 0.95) * 1000:6.0f}ms "
                    f"{cpu:9.2f}s"
                )
            print(f"load average after: {load_average()}")
        except Exception:
            print((Path(tmp) / "serve.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
            fake.stdin.close()
            fake.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` and its descendants (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += cpu_seconds(int(child))
    return total


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


if __name__ == "__main__":
    main()
