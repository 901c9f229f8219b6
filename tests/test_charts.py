"""Every chart renders a valid PNG from the demo and from nothing, with its key facts in words.

Rendering is checked to give the same bytes every time, and in parallel threads.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.charts import CHART_KINDS, ITEM_CHARTS, ChartImage, render_chart, write_all_charts
from bot.charts.style import day_label
from bot.config import TeamConfig, load_config
from bot.runtime import open_runtime
from bot.sync import sync_teams
from insights.dora import dora_metrics
from insights.forecast import daily_samples, forecast_how_many, forecast_when
from insights.item_timeline import day_start, week_start
from insights.metrics.aging import aging_wip
from insights.metrics.cycle_time import cycle_time_points
from insights.metrics.flow_items import item_timelines
from insights.metrics.throughput import throughput
from insights.model import Snapshot
from insights.percentiles import cycle_time_percentiles
from insights.stages import board_columns, cumulative_flow
from insights.xmr import xmr_limits
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEAM_CHARTS = [kind for kind in CHART_KINDS if kind not in ITEM_CHARTS]
"""The kinds drawn for the whole team (an item chart needs an item: tests/test_chart_trace.py)."""
TALLER = ("map",)
"""Kinds that grow taller than 675 px when they have more to show (the map wraps its steps)."""


@pytest.fixture(scope="module")
def team() -> TeamConfig:
    return load_config(DEMO_CONFIG, env={}).teams[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, team) -> Snapshot:
    """The demo team synced as of NOW."""
    config = load_config(DEMO_CONFIG, env={})
    folder = tmp_path_factory.mktemp("charts")
    runtime = open_runtime(config, database=f"sqlite:///{folder / 'vsm.db'}", clock=lambda: NOW)
    runtime.sleep = lambda seconds: None
    sync_teams(runtime)
    snapshot = load_snapshot(runtime.engine, team.name, team.workflow)
    runtime.engine.dispose()
    return snapshot


@pytest.fixture(scope="module")
def empty(team) -> Snapshot:
    return Snapshot(team.name, (), {}, {}, {}, statuses=tuple(team.workflow))


@pytest.fixture(scope="module")
def demo_images(demo, team) -> dict[str, ChartImage]:
    """Every kind rendered once, sequentially, with its defaults."""
    return {kind: render_chart(kind, demo, team, NOW) for kind in TEAM_CHARTS}


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize("kind", TEAM_CHARTS)
def test_each_chart_renders_a_slack_sized_png_from_the_demo(kind, demo_images) -> None:
    image = demo_images[kind]

    assert image.png.startswith(PNG_SIGNATURE)
    width, height = decoded(image.png).size
    assert width == 1200
    assert height == 675 or (kind in TALLER and 675 < height <= 1350)
    assert image.kind == kind
    assert image.filename == f"{kind}-payments-2026-11-25.png"
    assert "payments" in image.title and "25 Nov 2026" in image.title
    assert "not enough data" not in image.alt_text
    assert "payments" in image.alt_text
    assert len(image.alt_text) <= 1000


@pytest.mark.parametrize("kind", TEAM_CHARTS)
def test_each_chart_says_not_enough_data_when_there_is_none(kind, empty, team) -> None:
    image = render_chart(kind, empty, team, NOW)

    assert decoded(image.png).size == (1200, 675)
    assert "not enough data yet" in image.alt_text
    assert image.title.startswith(image.alt_text.split(",")[0])


def test_dpi_scales_the_picture_not_the_layout(demo, team) -> None:
    small = render_chart("scatter", demo, team, NOW, dpi=40)
    large = render_chart("scatter", demo, team, NOW, dpi=200)

    assert decoded(small.png).size == (480, 270)
    assert decoded(large.png).size == (2400, 1350)
    assert small.alt_text == large.alt_text


def test_scatter_alt_text_names_the_percentiles(demo, team, demo_images) -> None:
    start = day_start(date(2026, 11, 25) - timedelta(days=89), team.zone)
    points = cycle_time_points(item_timelines(demo), start, NOW, team.zone)
    lines = cycle_time_percentiles([float(p.cycle_time_days) for p in points])
    assert lines is not None
    longest = max(points, key=lambda p: p.cycle_time_days)

    alt = demo_images["scatter"].alt_text

    assert f"{len(points)} items finished" in alt
    assert f"85% within {lines[85]:.0f} days" in alt
    assert f"50% within {lines[50]:.0f} days" in alt
    assert f"{longest.cycle_time_days} days" in alt


def test_aging_alt_text_names_the_oldest_items_and_how_many_are_past_p85(
    demo, team, demo_images
) -> None:
    timelines = item_timelines(demo)
    aging = aging_wip(timelines, NOW, team.zone)
    start = day_start(date(2026, 11, 25) - timedelta(days=89), team.zone)
    finished = cycle_time_points(timelines, start, NOW, team.zone)
    p85 = cycle_time_percentiles([float(p.cycle_time_days) for p in finished])[85]
    at_risk = [p for p in aging if p.age_days >= p85]

    alt = demo_images["aging"].alt_text

    assert f"{len(aging)} items." in alt
    assert f"{len(at_risk)} at or past the 85th percentile of cycle time ({p85:.0f} days)" in alt
    worst = max(aging, key=lambda p: p.age_days)
    assert f"Oldest: {worst.key} ({worst.age_days} days in {worst.status})" in alt


def test_cfd_alt_text_reads_the_bands_on_the_last_day(demo_images, demo, team) -> None:
    today = date(2026, 11, 25)
    flow = cumulative_flow(
        demo, board_columns(demo), today - timedelta(days=90), today + timedelta(days=1), team.zone
    )
    done = flow.counts["Done"]

    alt = demo_images["cfd"].alt_text

    assert f"{flow.band('In Progress')[-1]} in In Progress" in alt
    assert f"{flow.band('Code Review')[-1]} in Code Review" in alt
    assert f"{done[-1] - done[0]} finished in the window" in alt
    assert "Backlog" not in alt


def test_throughput_alt_text_has_the_average_and_limits_of_complete_weeks(
    demo, team, demo_images
) -> None:
    monday = week_start(date(2026, 11, 25))
    weeks = throughput(
        item_timelines(demo), monday - timedelta(weeks=13), monday, team.zone, "week"
    )
    limits = xmr_limits([float(w.count) for w in weeks], floor=0.0)

    alt = demo_images["throughput"].alt_text

    assert "last 13 complete weeks" in alt
    assert f"average {limits.mean:.1f} items a week" in alt
    assert f"{limits.lower:.1f} to {limits.upper:.1f}" in alt


def test_short_windows_count_throughput_per_day(demo, team) -> None:
    image = render_chart("throughput", demo, team, NOW, window_days=14)

    assert "last 14 full days" in image.alt_text
    assert "items a day" in image.alt_text


def test_forecast_alt_text_has_the_confidence_marks(demo, team, demo_images) -> None:
    samples = daily_samples(item_timelines(demo), NOW, team.zone, 60)
    start = date(2026, 11, 26)
    how_many = forecast_how_many(samples, start, date(2026, 12, 9))
    when = forecast_when(samples, 20, start)

    when_image = render_chart("forecast", demo, team, NOW, forecast_items=20)

    assert f"85% chance of {how_many.counts[85]} or more" in demo_images["forecast"].alt_text
    assert f"95% chance by {day_label(when.dates[95])}" in when_image.alt_text
    assert "When will 20 items be done?" in when_image.title
    assert "daily throughput of the last 60 days" in when_image.title


def test_a_forecast_chart_asked_for_another_window_samples_it_and_says_so(demo, team) -> None:
    samples = daily_samples(item_timelines(demo), NOW, team.zone, 30)
    when = forecast_when(samples, 20, date(2026, 11, 26))

    image = render_chart("forecast", demo, team, NOW, window_days=30, forecast_items=20)

    assert f"95% chance by {day_label(when.dates[95])}" in image.alt_text
    assert "daily throughput of the last 30 days" in image.title


def test_forecast_by_a_date(demo, team) -> None:
    image = render_chart("forecast", demo, team, NOW, forecast_date=date(2026, 12, 31))

    assert "How many items by 31 Dec 2026?" in image.title
    assert "to 31 Dec 2026" in image.alt_text


def test_dora_alt_text_has_frequency_and_lead_time(demo, team, demo_images) -> None:
    monday = week_start(date(2026, 11, 25))
    metrics = dora_metrics(
        demo,
        day_start(monday - timedelta(weeks=13), team.zone),
        day_start(monday, team.zone),
        team.zone,
    )

    alt = demo_images["dora"].alt_text

    assert f"{metrics.deployment_frequency_per_week:.1f} deployments a week" in alt
    assert f"Change failure rate {metrics.change_failure_rate:.0%}" in alt
    assert "Median lead time for changes" in alt


def test_the_as_of_date_is_the_teams_local_date(demo, team) -> None:
    auckland = team.model_copy(update={"timezone": "Pacific/Auckland"})  # UTC+13 in November

    image = render_chart("aging", demo, auckland, NOW)

    assert image.filename == "aging-payments-2026-11-26.png"
    assert "as of 26 Nov 2026" in image.alt_text


def test_rendering_twice_gives_identical_bytes(demo, team, demo_images) -> None:
    for kind in TEAM_CHARTS:
        assert render_chart(kind, demo, team, NOW).png == demo_images[kind].png, kind


def test_parallel_rendering_matches_sequential(demo, team, demo_images) -> None:
    jobs = [kind for kind in TEAM_CHARTS for _ in range(3)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        images = list(pool.map(lambda kind: render_chart(kind, demo, team, NOW), jobs))

    for kind, image in zip(jobs, images, strict=True):
        assert image.png == demo_images[kind].png, kind


def test_write_all_charts_writes_every_kind(demo, team, tmp_path) -> None:
    paths = write_all_charts(demo, team, NOW, tmp_path / "out")

    assert [p.name for p in paths] == [f"{k}-payments-2026-11-25.png" for k in TEAM_CHARTS]
    for path in paths:
        assert path.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "pie"}, "choose one of: scatter, aging, cfd, throughput, forecast, dora, map"),
        ({"window_days": 0}, "window must be at least 1 day"),
        ({"dpi": 5}, "dpi must be between"),
        ({"kind": "forecast", "forecast_items": 0}, "at least 1"),
        (
            {"kind": "forecast", "forecast_items": 3, "forecast_date": date(2026, 12, 1)},
            "either a number of items or a date",
        ),
        ({"kind": "forecast", "forecast_date": date(2026, 11, 25)}, "after the as-of date"),
        ({"kind": "trace"}, "name it, e.g. trace PAY-12"),
        ({"kind": "map", "item_key": "PAY-1"}, "only the trace chart takes an item key"),
    ],
)
def test_bad_options_are_explained(demo, team, options, message) -> None:
    kind = options.pop("kind", "scatter")
    with pytest.raises(ValueError, match=message):
        render_chart(kind, demo, team, NOW, **options)


def test_a_naive_now_is_refused(demo, team) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_chart("scatter", demo, team, NOW.replace(tzinfo=None))
