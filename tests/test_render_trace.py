"""The ``/vsm trace`` answer: one message that fits Slack, with every vendor word escaped."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.slack.answering.blocks import MAX_BLOCKS, MESSAGE_CHARS, SECTION_CHARS, block_chars
from bot.slack.answering.render_trace import render_trace, render_trace_not_found
from insights.trace import BlockingItem, MissingStep, Trace, TraceSpan
from insights.trace_events import TraceEvent
from tests.detector_fixtures import NOW, ago

DAY = 86400.0
INJECTED = ("<!channel>", "<!here>", "<https://evil.example|", "<@U0VICTIM>")
HOSTILE = "<!here> & <https://evil.example|click> <@U0VICTIM>"


def span(name: str, start: float, end: float | None, process_days: float) -> TraceSpan:
    finish = NOW if end is None else ago(end)
    return TraceSpan(
        name,
        "a",
        "b",
        ago(start),
        None if end is None else ago(end),
        (finish - ago(start)).total_seconds(),
        process_days * DAY,
    )


def trace(**changes) -> Trace:
    """PAY-12: in review now, after a long wait for review; shipped once, with an incident."""
    spans = (
        span("In progress", 9, 6, 2.1),
        span("Waiting for review", 6, 3, 0),
        span("Review", 3, None, 3),
    )
    fields = {
        "key": "PAY-12",
        "title": "Payouts in GBP",
        "url": "https://jira.invalid/browse/PAY-12",
        "status": "Code Review",
        "team": "payments",
        "now": NOW,
        "events": (
            TraceEvent(ago(10), "created", "Created", "jira"),
            TraceEvent(
                ago(6), "pr_opened", "acme/api#7 opened by ana", "github",
                "https://git.invalid/acme/api/pull/7", "acme/api#7",
            ),
            TraceEvent(
                ago(5), "deployed", "deployed to production (deploy 41)", "github",
                "https://git.invalid/deployments/41", "deploy 41",
            ),
            TraceEvent(
                ago(4), "incident", "incident: Payout batch stuck", "pagerduty",
                "https://pd.invalid/Q1", "Payout batch stuck",
            ),
        ),
        "spans": spans,
        "missing_steps": (MissingStep("Release", "no production deployment"),),
        "blocked_by": (
            BlockingItem("OPS-3", "ops", "In Progress", "https://jira.invalid/browse/OPS-3"),
            BlockingItem("PAY-8", "payments", None, None),
        ),
        "lead_seconds": 9 * DAY,
        "process_seconds": 5.1 * DAY,
    }  # fmt: skip
    return Trace(**(fields | changes))


def texts(message) -> str:
    return json.dumps(message.as_kwargs())


def test_the_journey_shows_steps_waits_links_and_blockers() -> None:
    message = render_trace(trace())
    body = texts(message)

    assert "*In progress* 3 days (work 2.1 days)" in body
    assert ":hourglass_flowing_sand: *Waiting for review* waiting 3 days" in body
    assert "*Review* 3 days so far (work 3 days) :round_pushpin: _here now_" in body
    assert "Longest wait: *Waiting for review*, 3 days" in body
    assert "(33% of the lead time)" in body
    assert "<https://git.invalid/acme/api/pull/7|acme/api#7>" in body
    assert "<https://git.invalid/deployments/41|deploy 41>" in body
    assert "<https://pd.invalid/Q1|Payout batch stuck>" in body
    assert "Blocked by <https://jira.invalid/browse/OPS-3|OPS-3> (team *ops*, In Progress)" in body
    assert "PAY-8 (status unknown here)" in body  # the team's own: no team named
    assert "Release (no production deployment)" in body
    assert "lead time 9 days so far, work 5.1 days (57%)" in body
    assert message.text.startswith("Trace of PAY-12 Payouts in GBP: Code Review, lead time 9 days")


def test_vendor_text_is_escaped_and_only_web_links_are_made() -> None:
    hostile = trace(
        key=f"PAY-12{HOSTILE}",
        title=HOSTILE,
        status=HOSTILE,
        url="javascript:alert(1)",
        events=(
            TraceEvent(ago(3), "status:x", f"Entered {HOSTILE}", "jira"),
            TraceEvent(ago(2), "pr_opened", HOSTILE, "gh", "https://ok.invalid/>|<!here>", HOSTILE),
            TraceEvent(ago(1), "incident", HOSTILE, "pd", "javascript:alert(1)", HOSTILE),
        ),
        spans=(span(HOSTILE, 3, 1, 1),),
        missing_steps=(MissingStep(HOSTILE, HOSTILE),),
        blocked_by=(BlockingItem(HOSTILE, HOSTILE, HOSTILE, "https://x.invalid/<!here>"),),
    )  # fmt: skip
    message = render_trace(hostile)
    body = texts(message)

    for injected in INJECTED:
        assert injected not in body
    assert "javascript:" not in body  # never a link, and never shown
    assert "&lt;!here&gt;" in body


def test_a_long_journey_keeps_its_ends_and_counts_what_it_left_out() -> None:
    events = tuple(
        TraceEvent(
            ago(30) + timedelta(minutes=i), "pr_opened", f"acme/api#{i} opened by ana " + "x" * 99,
            "github", f"https://git.invalid/acme/api/pull/{i}", f"acme/api#{i}",
        )
        for i in range(500)
    )  # fmt: skip
    message = render_trace(trace(events=events))

    assert len(message.blocks) <= MAX_BLOCKS
    sizes = [block_chars(b) for b in message.blocks]
    assert max(sizes) <= SECTION_CHARS and sum(sizes) <= MESSAGE_CHARS
    journey = next(b.text.text for b in message.blocks if "*Journey*" in str(b.to_dict()))
    shown = re.findall(r"acme/api#(\d+) opened by ana", journey)
    left_out = int(re.search(r"… (\d+) more events", journey)[1])
    assert shown[0] == "0" and shown[-1] == "499"  # the first and the last event
    assert len(shown) + left_out == 500
    assert "and 492 more" in texts(message)  # links: the first 8 records


def test_a_trace_without_steps_says_so() -> None:
    message = render_trace(
        trace(spans=(), missing_steps=(), blocked_by=(), events=trace().events[:1])
    )
    body = texts(message)

    assert "No step of the stream yet" in body
    assert "Longest wait" not in body and "lead time" not in body


def test_an_unknown_key_names_the_key_and_the_team_escaped() -> None:
    message = render_trace_not_found(f"PAY-99{HOSTILE}", "payments")
    body = texts(message)

    assert "PAY-99&lt;!here&gt;" in body and "*payments*" in body
    for injected in INJECTED:
        assert injected not in body
