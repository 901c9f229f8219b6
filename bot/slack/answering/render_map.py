"""``/vsm map``: the team's value stream in one message; the map itself goes in its thread.

The message reads on a phone: the stream's totals (lead time p50 and p85, activity ratio,
rolled %C&A, items and how many had no pull request), where the time goes, then one compact line
per step: its work (process) time p50, its wait p50, %C&A and the items that passed it.
Step names are the team's or its vendor's words: escaped.
"""

from __future__ import annotations

from datetime import datetime

from bot.charts import hotspot_words, percent, short_duration
from bot.slack.answering.blocks import (
    Message,
    context,
    escape,
    fields,
    fit,
    header,
    list_sections,
    section,
    slack_date,
)
from insights.value_stream import Hotspot, StepStats, ValueStreamMap

HOTSPOT_MARK = ":rotating_light:"


def render_map(vsm: ValueStreamMap, window_days: int, as_of: datetime) -> Message:
    """The value stream of the items finished in the last ``window_days`` days as of ``as_of``."""
    blocks = [
        header(f"Value stream · {vsm.team}"),
        fields(
            [
                (
                    "Lead time p50 / p85",
                    f"{short_duration(vsm.lead_seconds_p50)} / "
                    f"{short_duration(vsm.lead_seconds_p85)}",
                ),
                ("Activity ratio", percent(vsm.activity_ratio)),
                ("Rolled %C&amp;A", percent(vsm.rolled_complete_accurate)),
                ("Items", f"{vsm.items} ({vsm.no_pr} without a PR)"),
            ]
        ),
    ]
    if vsm.hotspot is not None:
        where = escape(hotspot_words(vsm.hotspot))
        blocks.append(section(f"{HOTSPOT_MARK} *Where the time goes:* {where}"))
    lines = [step_line(i, stats, vsm.hotspot) for i, stats in enumerate(vsm.steps, 1)]
    blocks.extend(list_sections(lines) if lines else [section("The stream has no steps.")])
    blocks.append(
        context(
            f"Items finished in the last {window_days} days, as of {slack_date(as_of)} · "
            "per step: work p50 · wait p50 · %C&amp;A · items · the map is in the thread"
        )
    )
    text = (
        f"Value stream of {vsm.team}: lead time p50 {short_duration(vsm.lead_seconds_p50)}, "
        f"activity ratio {percent(vsm.activity_ratio)}, rolled %C&A "
        f"{percent(vsm.rolled_complete_accurate)}"
    )
    if vsm.hotspot is not None:
        text += f"; where the time goes: {hotspot_words(vsm.hotspot)}"
    return fit(text, blocks)


def step_line(number: int, stats: StepStats, hotspot: Hotspot | None) -> str:
    """``2. *Build* work 2.5 d · wait 1.5 d · C&amp;A 55% · 38 items`` (marked when the hotspot)."""
    name = escape(stats.step.name)
    mark = f" {HOTSPOT_MARK}" if hotspot is not None and hotspot.step == stats.step.name else ""
    if stats.items == 0:
        return f"{number}. *{name}*{mark} no item had this step"
    missing = f" ({stats.missing} without it)" if stats.missing else ""
    work, wait = short_duration(stats.process_seconds_p50), short_duration(stats.wait_seconds_p50)
    return (
        f"{number}. *{name}*{mark} work {work} · wait {wait} · "
        f"C&amp;A {percent(stats.complete_accurate)} · {stats.items} items{missing}"
    )
