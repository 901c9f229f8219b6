"""The value stream map chart: drawn from data, readable, hostile step names drawn as text."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from PIL import Image

from bot.charts import render_chart
from bot.charts.map import STEPS_PER_ROW, plot_map
from bot.charts.style import Header
from bot.cli import cli
from bot.sync import sync_teams
from insights.value_stream import Hotspot, StepStats, StreamStep, ValueStreamMap
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW

DAY = 86400.0
HEADER = Header(
    "Value stream map", "payments", "items finished in the last 30 days", date(2026, 11, 25)
)


def stats(name: str, items: int = 20, work: float = DAY, wait: float = 2 * DAY) -> StepStats:
    return StepStats(
        step=StreamStep(name, "merged", "deployed"),
        items=items,
        missing=0,
        backwards=0,
        lead_seconds_p50=work + wait if items else None,
        lead_seconds_p85=2 * (work + wait) if items else None,
        process_seconds_p50=work if items else None,
        process_seconds_p85=2 * work if items else None,
        wait_seconds_p50=wait if items else None,
        wait_seconds_p85=2 * wait if items else None,
        lead_seconds_total=items * (work + wait),
        process_seconds_total=items * work,
        wait_share=wait / (work + wait) if items else None,
        complete_accurate=0.8 if items else None,
        item_keys=tuple(f"PAY-{n}" for n in range(items)),
    )


def stream(steps: list[StepStats], items: int = 20, hotspot: Hotspot | None = None):
    return ValueStreamMap(
        team="payments",
        start=NOW - timedelta(days=30),
        end=NOW,
        steps=tuple(steps),
        items=items,
        no_pr=3,
        lead_seconds_p50=12 * DAY,
        lead_seconds_p85=21 * DAY,
        activity_ratio=0.23,
        rolled_complete_accurate=0.41,
        hotspot=hotspot,
    )


def size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_the_alt_text_reads_the_map_step_by_step() -> None:
    hot = Hotspot("Release", "wait", 0.41, 0.28, 0.13)
    steps = [stats("Build", work=2.5 * DAY, wait=0.0), stats("Release", work=3600.0, wait=3 * DAY)]

    chart = plot_map(stream(steps, hotspot=hot), HEADER)

    alt = chart.alt_text
    assert "20 items (3 without a pull request); lead time p50 12 d, p85 21 d" in alt
    assert "activity ratio 23%; rolled %C&A 41%" in alt
    assert "Build: 20 items, work p50 2.5 d, wait p50 0, C&A 80%." in alt
    assert "Release: 20 items, work p50 1 h, wait p50 3.0 d" in alt
    assert "Where the time goes: Release (waiting), 41% of lead time, up from 28%." in alt


def test_hostile_step_names_are_drawn_as_text() -> None:
    names = ["Wait $x^$ here", "$\\frac$", "$_$", "a \\$ b $ c", "x" * 80]
    chart = plot_map(stream([stats(n) for n in names]), HEADER)

    png = io.BytesIO()
    chart.figure.savefig(png, format="png")  # mathtext would raise while drawing
    assert png.getvalue().startswith(b"\x89PNG")
    assert "Wait $x^$ here: 20 items" in chart.alt_text
    drawn = [t.get_text() for t in chart.figure.axes[0].texts]
    assert any("Wait \\$x^\\$" in t for t in drawn)
    assert all(len(line) < 40 for t in drawn for line in t.split("\n") if "xxx" in line)


def test_a_step_no_item_had_says_so_and_the_rest_is_drawn() -> None:
    chart = plot_map(stream([stats("Build"), stats("Release", items=0)]), HEADER)

    drawn = [t.get_text() for t in chart.figure.axes[0].texts]
    assert "no item\nhad this step" in drawn
    assert "Release: 0 items, work p50 -, wait p50 -, C&A n/a." in chart.alt_text


@pytest.mark.parametrize("items", [0, 2])
def test_too_few_items_draw_the_not_enough_data_chart(items) -> None:
    chart = plot_map(stream([stats("Build", items=items)], items=items), HEADER)

    assert "not enough data yet" in chart.alt_text
    assert f"{items} items finished" in chart.alt_text


def test_twelve_steps_wrap_into_two_rows_in_a_taller_picture() -> None:
    twelve = plot_map(stream([stats(f"Step {n}") for n in range(12)]), HEADER)
    four = plot_map(stream([stats(f"Step {n}") for n in range(4)]), HEADER)

    boxes = [t for t in twelve.figure.axes[0].texts if t.get_text().startswith("Step ")]
    rows = sorted({round(t.get_position()[1], 2) for t in boxes})
    assert len(rows) == 2
    assert all(
        sum(1 for t in boxes if round(t.get_position()[1], 2) == y) == STEPS_PER_ROW for y in rows
    )
    assert twelve.figure.get_size_inches()[1] > four.figure.get_size_inches()[1]
    assert four.figure.get_size_inches()[1] == 6.75


def test_the_demo_map_shows_every_step_and_the_planted_wait(demo_runtime) -> None:
    sync_teams(demo_runtime)
    team = demo_runtime.config.teams[0]
    snapshot = load_snapshot(demo_runtime.engine, team.name, team.workflow)

    image = render_chart("map", snapshot, team, NOW)

    assert image.filename == "map-payments-2026-11-25.png"
    assert size(image.png)[0] == 1200
    assert "not enough data" not in image.alt_text
    for step in ("Development", "Review", "Release"):
        assert f"{step}:" in image.alt_text
    assert "Where the time goes:" in image.alt_text


def test_vsm_chart_map_writes_the_png(demo_runtime, tmp_path) -> None:
    sync_teams(demo_runtime)
    out = tmp_path / "map.png"
    db = str(demo_runtime.engine.url)

    result = CliRunner().invoke(
        cli, ["--config", str(DEMO_CONFIG), "--database", db, "chart", "map", "--out", str(out)],
        obj=lambda: NOW,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "Value stream map for payments, items finished in the last 30 days" in result.output


def test_vsm_chart_trace_writes_the_items_png(demo_runtime, tmp_path) -> None:
    sync_teams(demo_runtime)
    out = tmp_path / "trace.png"
    db = str(demo_runtime.engine.url)

    result = CliRunner().invoke(
        cli,
        ["--config", str(DEMO_CONFIG), "--database", db, "chart", "trace", "pay-1", "--out",
         str(out)],
        obj=lambda: NOW,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "PAY-1" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace"], "name the item to trace"),
        (["trace", "not a key"], "is not an item key"),
        (["map", "PAY-1"], "only the trace chart takes an item key"),
    ],
)
def test_the_item_key_is_checked_before_anything_is_drawn(demo_runtime, tmp_path, args, message):
    out = tmp_path / "x.png"
    db = str(demo_runtime.engine.url)

    result = CliRunner().invoke(
        cli, ["--config", str(DEMO_CONFIG), "--database", db, "chart", *args, "--out", str(out)],
        obj=lambda: NOW,
    )  # fmt: skip

    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()
