"""The trace chart: a Gantt of one item's steps that renders for the demo and for a bare item."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.charts.request import ChartRequest
from bot.charts.style import to_png
from bot.charts.trace import draw_trace, team_steps
from bot.config import StreamStepConfig, load_config
from bot.sync import sync_teams
from insights.trace import trace_item
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW
from tests.detector_fixtures import SnapshotBuilder, ago

PNG = b"\x89PNG\r\n\x1a\n"
TEAM = load_config(DEMO_CONFIG, env={}).teams[0]


def texts(chart) -> list[str]:
    return [t.get_text() for ax in chart.figure.axes for t in ax.texts]


@pytest.fixture
def demo_request(demo_runtime) -> ChartRequest:
    sync_teams(demo_runtime)
    team = demo_runtime.config.teams[0]
    snapshot = load_snapshot(demo_runtime.engine, team.name, tuple(team.workflow))
    return ChartRequest(snapshot, team, NOW)


def test_the_demo_items_draw_as_png(demo_request) -> None:
    snapshot = demo_request.snapshot
    steps = team_steps(demo_request)
    traces = [trace_item(snapshot, i.key, steps, NOW) for i in snapshot.issues()]
    shipped = next(t for t in traces if t and any(e.event == "deployed" for e in t.events))
    unfinished = next(t for t in traces if t and t.open_span and len(t.spans) > 2)

    for trace in (shipped, unfinished):
        chart = draw_trace(replace(demo_request, item_key=trace.key.lower()))
        assert to_png(chart.figure).startswith(PNG)
        assert chart.header.chart == f"Trace of {trace.key}"
        assert f"Trace of {trace.key} for payments" in chart.alt_text
        labels = texts(chart)
        for span in trace.spans:
            assert any(label.startswith(f"{span.name}: ") for label in labels)
        wait = trace.biggest_wait
        assert wait is not None
        assert any(label.startswith(wait.name) and "longest wait" in label for label in labels)
    assert "now" in [label.strip() for label in texts(draw_trace(replace(
        demo_request, item_key=unfinished.key
    )))]  # fmt: skip


def test_an_item_with_a_single_event_draws() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", created=ago(2), first_status="Selected")  # committed at creation
    snapshot = builder.build()
    chart = draw_trace(ChartRequest(snapshot, TEAM, NOW, item_key="PAY-1"))

    assert to_png(chart.figure).startswith(PNG)
    assert "1 event, from created." in chart.alt_text


def test_hostile_words_draw_literally() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-2", ("Wait $x^$", ago(3)), ("Done $$", ago(1)), created=ago(4))
    snapshot = builder.build()
    snapshot = replace(snapshot, items=[replace(snapshot.items[0], title="Cost $a^b$ in $USD")])
    chart = draw_trace(ChartRequest(snapshot, TEAM, NOW, item_key="PAY-2"))

    assert to_png(chart.figure).startswith(PNG)
    assert any(r"Cost \$a^b\$ in \$USD" in t.get_text() for t in chart.figure.texts)
    assert r"Wait \$x^\$" in texts(chart)  # the status entry's label


def test_an_unknown_or_missing_key_is_a_clear_error() -> None:
    snapshot = SnapshotBuilder().build()
    with pytest.raises(ValueError, match=r"team payments has no item 'PAY-404'"):
        draw_trace(ChartRequest(snapshot, TEAM, NOW, item_key="PAY-404"))
    with pytest.raises(ValueError, match="name it"):
        draw_trace(ChartRequest(snapshot, TEAM, NOW))


def test_the_teams_configured_stream_is_drawn() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-3", ("In Progress", ago(3)), ("QA", ago(2)), ("Done", ago(1)))
    stream = [
        StreamStepConfig.model_validate(
            {"name": "Build", "from": "status:in progress", "to": "status:QA"}
        ),
        StreamStepConfig.model_validate({"name": "Check", "from": "status:QA", "to": "done"}),
    ]
    team = TEAM.model_copy(update={"value_stream": tuple(stream)})
    chart = draw_trace(ChartRequest(builder.build(), team, NOW, item_key="PAY-3"))

    labels = texts(chart)
    assert "Build: 24 hours (work 24 hours)" in labels
    assert "Check: 24 hours (work 24 hours)" in labels
    assert not any(label.startswith("Backlog") for label in labels)
