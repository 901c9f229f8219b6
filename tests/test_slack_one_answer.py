"""One question, one answer: the text reply, the chart and the digest agree with each other.

A forecast asked as text (``/vsm forecast when N``) and as a chart (``/vsm chart forecast when N``)
simulates from the same basis and gives the same dates, and both say what the basis is. A work
item's age is the same number of days in the ``/vsm aging`` list, in the finding that put it there
and on the aging chart: calendar days in the team's time zone, the start day counting as day 1
(METRICS.md 3.4).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from rich.console import Console

from bot.terminal import render_report
from insights.metrics.flow_items import item_timelines
from insights.report import build_report
from storage.snapshots import load_snapshot
from tests.conftest import NOW
from tests.slack_harness import BotHarness

BASIS = "last 60 days"
"""METRICS.md 3.9: every forecast samples the daily throughput of the 60 days before today."""


def text_dates(fallback: str) -> dict[int, date]:
    """``50%: 2026-12-16, ...`` from a forecast reply's text."""
    return {
        int(p): date.fromisoformat(d) for p, d in re.findall(r"(\d+)%: (\d{4}-\d\d-\d\d)", fallback)
    }


def chart_dates(alt_text: str) -> dict[int, date]:
    """``50% chance by 16 Dec 2026; ...`` from the forecast chart's alt text."""
    return {
        int(p): datetime.strptime(d, "%d %b %Y").date()
        for p, d in re.findall(r"(\d+)% chance by (\d+ \w{3} \d{4})", alt_text)
    }


def test_forecast_text_and_chart_give_the_same_dates_from_one_stated_basis(
    harness: BotHarness,
) -> None:
    text = harness.reply("forecast when 20")
    harness.reply("chart forecast when 20")
    alt_text = harness.fake.wait_for("files.getUploadURLExternal")[0].params["alt_txt"]
    comment = harness.fake.wait_for("files.completeUploadExternal")[0].params["initial_comment"]

    in_text, on_chart = text_dates(text["text"]), chart_dates(alt_text)
    assert set(on_chart) == {50, 85, 95}
    assert {p: in_text[p] for p in on_chart} == on_chart
    assert BASIS in json.dumps(text["blocks"])
    assert BASIS in alt_text and BASIS in comment


def test_forecast_by_a_date_counts_from_the_same_first_day_as_the_chart(
    harness: BotHarness,
) -> None:
    text = harness.reply("forecast by 2026-12-31")
    harness.reply("chart forecast by 2026-12-31")
    alt_text = harness.fake.wait_for("files.getUploadURLExternal")[0].params["alt_txt"]

    counts = dict(re.findall(r"(\d+)%: (\d+)", text["text"].split(": ", 1)[1]))
    on_chart = dict(re.findall(r"(\d+)% chance of (\d+) or more", alt_text))
    assert on_chart and {p: counts[p] for p in on_chart} == on_chart
    assert BASIS in json.dumps(text["blocks"]) and BASIS in alt_text


def aa_ages(harness: BotHarness) -> dict[str, int]:
    """Work item age of every started item, written out from METRICS.md 3.4 (same day = 1)."""
    team = harness.runtime.config.teams[0]
    snapshot = load_snapshot(harness.runtime.engine, team.name, list(team.workflow))
    today = NOW.astimezone(team.zone).date()
    return {
        t.item.key: (today - t.started_at.astimezone(team.zone).date()).days + 1
        for t in item_timelines(snapshot)
        if t.started_at is not None
    }


def list_lines(blocks: list[dict]) -> list[str]:
    """The item lines of a list reply."""
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    return [line for text in texts for line in text.split("\n") if line.startswith("• ")]


def listed_ages(blocks: list[dict]) -> dict[str, str]:
    """Item key -> the age a list line shows right after the item's status."""
    ages = {}
    for line in list_lines(blocks):
        key = re.search(r"\|(PAY-\d+)>", line)
        shown = re.search(r"_, ([^·]+?) ·", line)
        assert key and shown, line
        ages[key.group(1)] = shown.group(1)
    return ages


@pytest.mark.parametrize("command", ["aging", "blocked"])
def test_item_lists_show_the_age_in_calendar_days_like_the_findings(
    harness: BotHarness, command: str
) -> None:
    expected = aa_ages(harness)

    shown = listed_ages(harness.reply(command)["blocks"])

    assert shown
    for key, age in shown.items():
        days = expected[key]
        assert age == (f"age {days} day" if days == 1 else f"age {days} days"), key


def test_the_aging_list_and_the_aging_chart_give_an_item_one_age(harness: BotHarness) -> None:
    shown = listed_ages(harness.reply("aging")["blocks"])
    harness.reply("chart aging")
    alt_text = harness.fake.wait_for("files.getUploadURLExternal")[0].params["alt_txt"]

    on_chart = dict(re.findall(r"(PAY-\d+) \((\d+ days?) in ", alt_text))
    assert on_chart.keys() & shown.keys()
    for key in on_chart.keys() & shown.keys():
        assert shown[key] == f"age {on_chart[key]}"
    for line in list_lines(harness.reply("aging")["blocks"]):
        match = re.search(r"in progress for (\d+ days?)", line)
        if match:
            assert f"age {match.group(1)}" in line, "the finding and the list agree"


def test_the_terminal_report_states_the_basis_of_its_forecast(harness: BotHarness) -> None:
    team = harness.runtime.config.teams[0]
    snapshot = load_snapshot(harness.runtime.engine, team.name, list(team.workflow))
    report = build_report(snapshot, team.agreements, NOW, team.zone)
    console = Console(record=True, width=300)

    render_report(console, report)

    printed = console.export_text()
    assert report.forecast.when is not None
    assert f"current WIP done by {report.forecast.when.dates[85]:%d %b}" in printed
    assert "daily throughput of the last 60 days" in printed
