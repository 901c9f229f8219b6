"""The "Why?" of every figure: the ⋯ menus of /vsm flow and /vsm dora, and the items behind them."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack import ids
from bot.slack.answering.blocks import MESSAGE_CHARS, block_chars
from bot.slack.answering.explain import Explanation, item_link, render_explanation
from bot.slack.receiving.listeners.explain import parse_value
from insights.dora import dora_metrics
from insights.metrics.flow_items import item_timelines
from insights.model import ItemKind, Snapshot, Stage, WorkItem
from insights.report import build_report
from storage.snapshots import load_snapshot
from tests.conftest import NOW
from tests.fake_slack import WORKSPACE
from tests.slack_harness import MEMBER, TEAM_CHANNEL, TEAM_CHANNEL_NAME, BotHarness

TEAM = "payments"
FLOW_FIGURES = ("wip", "throughput_items", "cycle_time", "aging", "blocked_now")
DORA_FIGURES = (
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "recovery_time",
    "rework_rate",
)
LINKED_KEY = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


def demo_snapshot(harness: BotHarness) -> Snapshot:
    team = harness.runtime.config.teams[0]
    return load_snapshot(harness.runtime.engine, team.name, list(team.workflow))


def why_menu(reply: dict[str, Any]) -> dict[str, Any]:
    (menu,) = [
        block["accessory"]
        for block in reply["blocks"]
        if (block.get("accessory") or {}).get("type") == "overflow"
    ]
    return menu


def choose(harness: BotHarness, value: str, *, from_home: bool = False) -> str:
    """Pick ``value`` in a ⋯ menu; the response_url name to wait on (none from the App Home)."""
    name = uuid.uuid4().hex
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": MEMBER, "username": MEMBER.lower(), "team_id": WORKSPACE},
        "team": {"id": WORKSPACE, "domain": "fake"},
        "api_app_id": "A0FAKE",
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "overflow",
                "action_id": ids.EXPLAIN,
                "block_id": "b1",
                "selected_option": {"text": {"type": "plain_text", "text": "Why?"}, "value": value},
                "action_ts": "1.1",
            }
        ],
    }
    if from_home:
        payload["container"] = {"type": "view", "view_id": "V0001"}
        payload["view"] = {"id": "V0001", "type": "home", "blocks": []}
    else:
        payload["container"] = {"type": "message", "message_ts": "1.0", "channel_id": TEAM_CHANNEL}
        payload["channel"] = {"id": TEAM_CHANNEL, "name": TEAM_CHANNEL_NAME}
        payload["message"] = {"ts": "1.0", "text": "flow"}
        payload["response_url"] = harness.fake.response_url(name)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert harness.send(body, "application/x-www-form-urlencoded").status_code == 200
    return name


def answer(harness: BotHarness, value: str) -> dict[str, Any]:
    return harness.fake.wait_for("response", name=choose(harness, value))[0].params


def test_flow_answer_offers_why_for_each_figure(harness: BotHarness) -> None:
    menu = why_menu(harness.reply("flow 30d"))

    assert menu["action_id"] == ids.EXPLAIN
    values = [option["value"] for option in menu["options"]]
    assert values == [ids.explain_value(m, TEAM, 30) for m in FLOW_FIGURES]
    assert all(o["text"]["text"].startswith("Why? ") for o in menu["options"])


def test_dora_answer_offers_why_for_each_figure(harness: BotHarness) -> None:
    reply = harness.reply("dora 90d")

    values = [option["value"] for option in why_menu(reply)["options"]]
    assert values == [ids.explain_value(m, TEAM, 90) for m in DORA_FIGURES]
    assert "Change failure rate" in json.dumps(reply["blocks"]), "the figures are still there"


def test_why_cycle_time_lists_its_items_longest_first_with_links(harness: BotHarness) -> None:
    team = harness.runtime.config.teams[0]
    snapshot = demo_snapshot(harness)
    report = build_report(snapshot, team.agreements, NOW, team.zone, 14)
    keys = report.metric_items["cycle_time"]
    urls = {i.key: i.url for i in snapshot.items}
    cycle = {t.item.key: t.cycle_time_seconds() for t in item_timelines(snapshot)}

    reply = answer(harness, ids.explain_value("cycle_time", TEAM, 14))

    assert reply["response_type"] == "ephemeral"
    text = "\n".join(json.dumps(block) for block in reply["blocks"])
    assert "METRICS 3.2" in text and "nearest rank" in text
    assert f"the {len(keys)} items finished in the last 90 days" in text
    shown = LINKED_KEY.findall("\n".join(_texts(reply)))
    assert shown and all(urls[key] == url for url, key in shown), "each item links to itself"
    shown_keys = [key for _, key in shown]
    assert set(shown_keys) <= set(keys)
    more = len(keys) - len(shown_keys)
    assert more > 0 and f"and {more} more" in text, "86 items do not fit: the rest are counted"
    seconds = [cycle[key] for key in shown_keys]
    assert seconds == sorted(seconds, reverse=True)
    assert seconds[0] == max(cycle[key] for key in keys)


def test_why_wip_by_button_names_every_item_in_progress(harness: BotHarness) -> None:
    team = harness.runtime.config.teams[0]
    report = build_report(demo_snapshot(harness), team.agreements, NOW, team.zone, 14)

    response, name = harness.click(ids.EXPLAIN, ids.explain_value("wip", TEAM, 14))
    assert response.status_code == 200
    reply = harness.fake.wait_for("response", name=name)[0].params

    keys = {key for _, key in LINKED_KEY.findall("\n".join(_texts(reply)))}
    assert keys == set(report.metric_items["wip"])
    assert f"{len(keys)} items in progress" in "\n".join(_texts(reply))


def test_why_change_failure_rate_lists_the_failed_deployments(harness: BotHarness) -> None:
    team = harness.runtime.config.teams[0]
    snapshot = demo_snapshot(harness)
    dora = dora_metrics(snapshot, NOW - timedelta(days=90), NOW, team.zone)
    deployments = {d.id: d for d in snapshot.deployments}
    assert dora.failed_deployment_ids, "the demo has failed deployments in 90 days"

    reply = answer(harness, ids.explain_value("change_failure_rate", TEAM, 90))

    text = "\n".join(_texts(reply))
    assert "(METRICS 2.3, 2.6)" in text
    linked = {url for url, _ in LINKED_KEY.findall(text)}
    failed = {deployments[d].url for d in dora.failed_deployment_ids}
    assert failed <= linked
    others = {deployments[d].url for d in dora.deployment_ids} - failed
    assert not others & linked, "only the failed deployments are listed"
    incidents = {i.url for i in snapshot.incidents if i.id in dora.incident_ids}
    assert incidents and incidents <= linked


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("nonsense|payments|14", "I cannot explain `nonsense`"),
        ("wip|no-such-team|14", "no longer available"),
        ("wip|payments|100000", "no longer available"),
        ("0", "no longer available"),
    ],
)
def test_an_unknown_figure_gets_a_short_error(harness: BotHarness, value: str, says: str) -> None:
    reply = answer(harness, value)

    assert reply["response_type"] == "ephemeral"
    assert says in reply["text"]
    assert len(reply["blocks"]) == 1


def test_a_click_on_the_app_home_is_answered_by_direct_message(harness: BotHarness) -> None:
    choose(harness, ids.explain_value("blocked_now", TEAM, 14), from_home=True)

    (posted,) = harness.fake.wait_for("chat.postMessage")
    assert posted.params["channel"] == "D" + MEMBER.removeprefix("U")
    assert "METRICS 3.10" in posted.block_text


def test_a_figure_without_a_window_uses_the_commands_default() -> None:
    assert parse_value("cycle_time|payments|") == ("cycle_time", "payments", None)
    assert parse_value("wip|team|with|bars|7") == ("wip", "team|with|bars", 7)
    with pytest.raises(ValueError):
        parse_value("wip|payments|0")


def test_vendor_text_is_escaped_and_only_web_links_are_made() -> None:
    hostile = WorkItem(
        id="x:1",
        team=TEAM,
        source="x",
        key="PAY-1",
        kind=ItemKind.ISSUE,
        type="Story",
        title="<!channel> & <https://evil.example|click>",
        status="<b>",
        stage=Stage.ACTIVE,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
        url="javascript:alert(1)",
    )

    line = item_link(hostile, hostile.key)

    assert "<!channel>" not in line and "<https://evil" not in line
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in line
    assert "javascript" not in line and line.startswith("PAY-1 ")
    safe = item_link(replace(hostile, url="https://jira/PAY-1"), "PAY-1")
    assert safe.startswith("<https://jira/PAY-1|PAY-1> ")


def test_a_long_list_is_cut_within_slacks_limits_and_counted() -> None:
    lines = [f"• item {n} " + "x" * 200 for n in range(500)]
    explained = Explanation("Cycle time", "p85 9.0 d", "a rule (METRICS 3.2)", lines)

    message = render_explanation(TEAM, explained, NOW)

    assert sum(block_chars(b) for b in message.blocks) <= MESSAGE_CHARS
    text = json.dumps(message.as_kwargs())
    shown = sum(f"item {n} x" in text for n in range(500))
    assert 0 < shown < 500
    assert f"and {500 - shown} more" in text
    assert "left out to fit" not in text, "the list is cut by count, not by fit's last resort"


def _texts(reply: dict[str, Any]) -> list[str]:
    """Every mrkdwn text of a reply's blocks."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            text = node.get("text")
            if isinstance(text, str):
                out.append(text)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(reply["blocks"])
    return out
