"""``/vsm map``'s message: the stream's totals, where the time goes, a line per step, escaped."""

from __future__ import annotations

import json

from bot.slack.answering.render_map import render_map, step_line
from insights.value_stream import Hotspot
from tests.conftest import NOW
from tests.test_chart_map import DAY, stats, stream


def test_the_message_has_the_totals_the_hotspot_and_a_line_per_step() -> None:
    hot = Hotspot("Release", "wait", 0.41, 0.28, 0.13)
    steps = [stats("Build", work=2.5 * DAY, wait=0.0), stats("Release", work=3600.0, wait=3 * DAY)]

    message = render_map(stream(steps, hotspot=hot), 30, NOW)

    blocks = json.dumps([b.to_dict() for b in message.blocks], ensure_ascii=False)
    assert "Value stream · payments" in blocks
    assert "12 d / 21 d" in blocks and "23%" in blocks and "41%" in blocks
    assert "20 (3 without a PR)" in blocks
    assert "*Where the time goes:* Release (waiting), 41% of lead time, up from 28%" in blocks
    assert "1. *Build* work 2.5 d · wait 0 · C&amp;A 80% · 20 items" in blocks
    assert "2. *Release* :rotating_light: work 1 h · wait 3.0 d" in blocks
    assert "last 30 days" in blocks
    assert message.text.startswith("Value stream of payments: lead time p50 12 d")
    assert "where the time goes: Release (waiting)" in message.text


def test_step_names_are_escaped_and_hotspot_marks_only_its_step() -> None:
    hostile = stats("<!channel> & <https://evil.example|click>")
    hot = Hotspot("Build", "process", 0.5, None, None)

    line = step_line(3, hostile, hot)

    assert "<!channel>" not in line and "&lt;!channel&gt; &amp;" in line
    assert ":rotating_light:" not in line
    assert ":rotating_light:" in step_line(1, stats("Build"), hot)


def test_a_step_without_items_and_missing_items_are_said() -> None:
    empty = stats("Release", items=0)
    some = stats("Review")
    some = type(some)(**{**{f: getattr(some, f) for f in some.__slots__}, "missing": 4})

    assert step_line(1, empty, None) == "1. *Release* no item had this step"
    assert step_line(2, some, None).endswith("20 items (4 without it)")


def test_a_hotspot_without_a_previous_window_says_no_change() -> None:
    hot = Hotspot("Review", "process", 0.3, None, None)
    message = render_map(stream([stats("Review")], hotspot=hot), 14, NOW)

    blocks = json.dumps([b.to_dict() for b in message.blocks], ensure_ascii=False)
    assert "Review (working), 30% of lead time" in blocks
    assert "from" not in message.text.split("where the time goes:")[1]
