"""Block Kit rendering: escaping, and long content kept within Slack's limits, never refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError

from bot.people import People
from bot.slack import ids
from bot.slack.answering.blocks import (
    MAX_BLOCKS,
    MESSAGE_CHARS,
    block_chars,
    escape,
    fit,
    header,
    link,
    section,
    unescape,
)
from bot.slack.answering.home import TeamOverview, render_home
from bot.slack.answering.render import item_line, render_aging, render_full_list
from bot.slack.answering.render_alerts import render_alert
from bot.slack.answering.render_digest import finding_entry
from bot.slack.delivering.client import make_client
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import Poster
from insights.findings import Finding, Severity
from insights.report import Digest, ItemLine
from insights.report_json import finding_to_json
from storage.alert_messages import AlertRecord
from tests.conftest import NOW
from tests.fake_slack import BOT_TOKEN, MAX_VIEW_BLOCKS, FakeSlack, block_problem
from tests.slack_harness import demo_config

HOSTILE = "Fix <!channel> & <https://evil.example|click> > now"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def post(fake: FakeSlack, message) -> dict:
    poster = Poster(make_client(fake.api_url, BOT_TOKEN), ChannelPacer(interval=0))
    poster.post("C0TEAM", message)
    return fake.calls_to("chat.postMessage")[-1].reply


def digest_with(n: int) -> Digest:
    lines = [
        ItemLine(f"PAY-{i}", f"{HOSTILE} {'x' * 150}", "In Progress", 86400.0 * i, None, "old")
        for i in range(n)
    ]
    return Digest("payments", NOW, 14, n, 10, 3, 1.0, 2.0, 20, aging=lines)


def test_escape_neutralises_mentions_and_links() -> None:
    assert (
        escape(HOSTILE) == "Fix &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; &gt; now"
    )
    assert link("https://x.example/a", "A <b>") == "<https://x.example/a|A &lt;b&gt;>"
    assert link("https://x.example/a b>", "A") == "A", "a url Slack cannot carry is not linked"


@pytest.mark.parametrize("typed", [HOSTILE, "&amp; &lt;b&gt; typed as entities", "R&D", ""])
def test_text_slack_escaped_is_decoded_exactly_once(typed: str) -> None:
    assert unescape(escape(typed)) == typed


def test_item_titles_are_escaped() -> None:
    line = item_line(digest_with(1).aging[0], {"PAY-0": 1})
    assert "<!channel>" not in line
    assert "&lt;!channel&gt;" in line


def test_an_item_line_shows_the_work_item_age_in_days() -> None:
    digest = digest_with(3)

    lines = [item_line(line, {"PAY-1": 1, "PAY-2": 12}) for line in digest.aging]

    assert "_In Progress_, not started ·" in lines[0]
    assert "_In Progress_, age 1 day ·" in lines[1]
    assert "_In Progress_, age 12 days ·" in lines[2]


def test_a_long_list_is_summarised_with_show_all_and_accepted(fake: FakeSlack) -> None:
    message = render_aging(digest_with(500), {})

    reply = post(fake, message)

    assert reply["ok"] is True, reply
    blocks = message.as_kwargs()["blocks"]
    assert "490 more not shown." in str(blocks)
    button = blocks[-1]["elements"][0]
    assert (button["action_id"], button["value"]) == (ids.SHOW_ALL, "aging|payments|")
    assert message.text == "Aging items · payments: 500"


def test_the_full_list_is_cut_to_fit_rather_than_refused(fake: FakeSlack) -> None:
    lines = [item_line(line, {line.key: 9}) for line in digest_with(500).aging]

    message = render_full_list("Aging items", lines)

    assert post(fake, message)["ok"] is True
    assert len(message.blocks) <= MAX_BLOCKS
    assert sum(block_chars(b) for b in message.blocks) <= MESSAGE_CHARS
    assert "left out to fit in Slack" in str(message.as_kwargs()["blocks"][-1])


def test_fit_keeps_the_block_budget() -> None:
    message = fit("many", [section(f"part {i}") for i in range(80)])

    assert len(message.blocks) == MAX_BLOCKS
    assert "31 more part(s)" in str(message.blocks[-1].to_dict())
    assert fit("few", [section("a")]).blocks[0].to_dict()["text"]["text"] == "a"


def test_overlong_texts_are_clipped_to_slack_limits() -> None:
    assert len(header("h" * 400).to_dict()["text"]["text"]) == 150
    assert len(section("s" * 5000).to_dict()["text"]["text"]) == 3000
    assert block_problem([header("h" * 400).to_dict(), section("s" * 5000).to_dict()], 50) is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "t", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        (
            {
                "text": "t",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"text": "t" * 40_001}, "msg_too_long"),
    ],
)
def test_the_fake_refuses_what_slack_refuses(fake: FakeSlack, kwargs, error) -> None:
    client = make_client(fake.api_url, BOT_TOKEN)

    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", **kwargs)

    assert refused.value.response["error"] == error


def test_an_alert_card_escapes_the_finding(fake: FakeSlack) -> None:
    finding = Finding(
        "aging_item", Severity.CRITICAL, "PAY-1", HOSTILE, "Act <now>", "k", {"age_days": 3.25}
    )
    record = AlertRecord(
        "payments",
        "C1",
        "k",
        "aging_item",
        "critical",
        finding_to_json(finding),
        "f",
        "open",
        NOW,
        NOW,
        id=7,
    )

    message = render_alert(record, People(()))

    text = str(message.as_kwargs()["blocks"])
    assert "<!channel>" not in text and "Act &lt;now&gt;" in text
    assert "<!channel>" not in message.text, "the notification text is mrkdwn too"
    assert "&lt;!channel&gt;" in message.text
    assert "age 3.2 d" in text
    assert post(fake, message)["ok"] is True


def test_the_home_tab_stays_within_100_blocks_for_many_teams(fake: FakeSlack) -> None:
    team = demo_config(fake).teams[0]
    overviews = [
        TeamOverview(team, digest_with(3), NOW - timedelta(hours=2), 0, []) for _ in range(40)
    ]

    view = render_home(overviews, NOW)

    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    assert block_problem(view["blocks"], MAX_VIEW_BLOCKS) is None
    assert "left out to fit in Slack" in str(view["blocks"][-1])


def alert_with_url(url: str) -> AlertRecord:
    finding = Finding(
        "aging_item", Severity.WARN, "PAY-1", "PAY-1 is old", "Look", "k", {}, (), url
    )
    return AlertRecord(
        "payments",
        "C1",
        "k",
        "aging_item",
        "warn",
        finding_to_json(finding),
        "f",
        "open",
        NOW,
        NOW,
        id=7,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://jira.example/browse/" + "A" * 3100,
        "javascript:alert(1)",
        "https://jira.example/a\nb",
        "https://jira.example/<!channel>",
    ],
)
def test_a_vendor_url_slack_cannot_carry_gets_no_button_or_link(fake: FakeSlack, url) -> None:
    message = render_alert(alert_with_url(url), People(()))
    entry = finding_entry(Finding("d", Severity.WARN, "s", "T", "A", "k", {}, (), url))

    buttons = [
        e for b in message.as_kwargs()["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert ids.OPEN_ITEM not in [b["action_id"] for b in buttons]
    assert url not in entry and entry.startswith("• T")
    assert post(fake, message)["ok"] is True


def test_a_plain_vendor_url_gets_its_button_and_link() -> None:
    url = "https://jira.example/browse/PAY-1?focus=a&b=c"

    message = render_alert(alert_with_url(url), People(()))

    buttons = [
        e for b in message.as_kwargs()["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons[-1]["url"] == url
    assert link(url, "PAY-1") == f"<{url}|PAY-1>"
