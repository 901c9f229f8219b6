"""Every /vsm command end to end on the demo data: signed HTTP in, replies via the fake Slack."""

from __future__ import annotations

import json

import pytest

from bot.slack import ids
from insights.detectors import detector_names
from insights.report import build_digest
from storage.slack_settings import active_mutes, load_alert_channels, load_subscriptions
from storage.snapshots import load_snapshot
from tests.conftest import NOW
from tests.fake_slack import FakeSlack
from tests.slack_harness import ADMIN, MEMBER, TEAM_CHANNEL, BotHarness, demo_config, demo_runtime


def demo_digest(harness: BotHarness, window: int = 14):
    team = harness.runtime.config.teams[0]
    snapshot = load_snapshot(harness.runtime.engine, team.name, list(team.workflow))
    return build_digest(snapshot, team.agreements, NOW, team.zone, window)


def test_help_is_answered_in_the_ack_itself(harness: BotHarness) -> None:
    response, _ = harness.command("help")

    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    text = json.dumps(body["blocks"])
    for command in ("flow", "aging", "blocked", "prs", "dora", "forecast", "chart", "status"):
        assert f"/vsm {command}" in text
    assert harness.fake.calls_to("response") == []


@pytest.mark.parametrize(
    ("text", "nearest"),
    [("flwo", "flow"), ("forecast soon", "forecast"), ("flow 0d", "flow"), ("chart pie", "chart")],
)
def test_malformed_input_gets_the_usage_of_the_nearest_command(harness, text, nearest) -> None:
    response, _ = harness.command(text)

    assert response.status_code == 200
    reply = response.json()["text"]
    assert f"/vsm {nearest}" in reply
    assert "Traceback" not in reply


def test_unknown_word_lists_the_commands(harness: BotHarness) -> None:
    reply = harness.command("xyzzy")[0].json()["text"]
    assert "`xyzzy`" in reply
    assert "`status`" in reply


def test_flow_reports_the_teams_numbers(harness: BotHarness) -> None:
    digest = demo_digest(harness, 30)

    reply = harness.reply("flow 30d")

    assert reply["response_type"] == "ephemeral"
    text = json.dumps(reply["blocks"])
    assert f"{digest.wip} (limit {digest.wip_limit})" in text
    assert "Finished in 30 days" in text
    assert str(digest.throughput) in text
    assert f"{digest.cycle_time_seconds_p85 / 86400:.1f} d" in text


def test_share_posts_the_answer_in_the_channel(harness: BotHarness) -> None:
    assert harness.reply("flow share")["response_type"] == "in_channel"


@pytest.mark.parametrize(("command", "attribute"), [("aging", "aging"), ("blocked", "blocked")])
def test_item_lists_name_the_items(harness: BotHarness, command: str, attribute: str) -> None:
    lines = getattr(demo_digest(harness), attribute)
    assert lines, "the demo plants aging and blocked items"

    reply = harness.reply(command)

    text = json.dumps(reply["blocks"])
    for line in lines[:10]:
        assert line.key in text
    assert f": {len(lines)}" in reply["text"]


def test_prs_lists_open_pull_requests(harness: BotHarness) -> None:
    team = harness.runtime.config.teams[0]
    snapshot = load_snapshot(harness.runtime.engine, team.name)
    open_prs = [p for p in snapshot.pull_requests() if p.stage.in_progress]

    reply = harness.reply("prs")

    text = json.dumps(reply["blocks"])
    assert open_prs
    for pr in open_prs[:10]:
        assert pr.key in text


def test_dora_shows_the_four_keys_with_bands(harness: BotHarness) -> None:
    text = json.dumps(harness.reply("dora 90d")["blocks"])
    for label in ("Deployment frequency", "Lead time for changes", "Change failure rate"):
        assert label in text
    assert any(band in text for band in ("elite", "high", "medium", "low"))


def test_dora_says_n_a_only_when_no_value_is_missing(harness: BotHarness) -> None:
    reply = harness.reply("dora 90d")

    text = json.dumps(reply["blocks"])
    assert "n/a" not in text, "the demo has every DORA value over 90 days"
    assert "no deployments" not in text


def test_dora_gives_the_reason_of_each_missing_value(harness: BotHarness) -> None:
    reply = harness.reply("dora 30d")

    fields = {
        f["text"].split("\n")[0].strip("*"): f["text"].split("\n", 1)[1]
        for block in reply["blocks"]
        for f in block.get("fields", [])
    }
    missing = {label: value for label, value in fields.items() if value.startswith("n/a")}
    assert list(missing) == ["Failed deployment recovery (median)"]
    assert "no failed deployment" in missing["Failed deployment recovery (median)"]
    assert "no deployments" not in json.dumps(reply["blocks"])


def test_text_slack_escaped_is_decoded_once_and_escaped_once(harness: BotHarness) -> None:
    response, _ = harness.command("status &lt;!channel&gt; &amp;amp;")

    body = response.json()
    shown = json.dumps(body["blocks"]) + body["text"]
    assert shown.count("`&lt;!channel&gt; &amp;amp;`") == 2, "the user sees what they typed"
    assert "&amp;lt;" not in shown and "&amp;gt;" not in shown
    assert "<!channel>" not in shown


def test_a_team_name_with_an_ampersand_is_recognised(fake: FakeSlack, tmp_path) -> None:
    config = demo_config(fake)
    team = config.teams[0].model_copy(update={"name": "R&D"})
    config = config.model_copy(update={"teams": [team]})
    harness = BotHarness(fake, demo_runtime(config, tmp_path))
    try:
        response, name = harness.command("flow R&amp;D 30d")
        assert response.status_code == 200 and not response.text, response.text
        reply = harness.fake.wait_for("response", name=name)[0].params
    finally:
        harness.close()

    assert "Finished in 30 days" in json.dumps(reply["blocks"])


def test_forecasts_give_dates_and_counts_by_confidence(harness: BotHarness) -> None:
    when = harness.reply("forecast when 10")
    by = harness.reply("forecast by 2026-12-31")

    assert "50%" in when["text"] and "95%" in when["text"]
    assert "2026-12" in when["text"]
    counts = [int(part.split(": ")[1]) for part in by["text"].split(": ", 1)[1].split(", ")]
    assert counts == sorted(counts, reverse=True), "higher confidence, fewer items"


def test_forecast_by_a_past_date_is_explained(harness: BotHarness) -> None:
    reply = harness.reply("forecast by 2026-01-01")
    assert "in the past" in reply["text"]
    assert "/vsm forecast" in reply["text"]


def test_status_reports_each_source(harness: BotHarness) -> None:
    reply = harness.reply("status")
    text = json.dumps(reply["blocks"])
    assert "payments/demo" in text
    assert "Last success" in text
    assert "0 with problems" in reply["text"]


def test_chart_is_sent_privately_as_a_png(harness: BotHarness) -> None:
    reply = harness.reply("chart cfd")

    assert "direct message" in reply["text"]
    complete = harness.fake.wait_for("files.completeUploadExternal")[0]
    assert complete.params["channel_id"] == "D" + MEMBER.removeprefix("U")
    upload = harness.fake.calls_to("upload")[0]
    assert upload.body.startswith(b"\x89PNG")
    get_url = harness.fake.calls_to("files.getUploadURLExternal")[0]
    assert get_url.params["alt_txt"]


def test_charts_can_be_drawn_in_worker_processes(fake: FakeSlack, tmp_path) -> None:
    harness = BotHarness(fake, demo_runtime(demo_config(fake), tmp_path), chart_processes=1)
    try:
        reply = harness.reply("chart scatter")
    finally:
        harness.close()

    assert "direct message" in reply["text"]
    assert fake.calls_to("upload")[0].body.startswith(b"\x89PNG")


def test_shared_chart_goes_to_the_channel(harness: BotHarness) -> None:
    response, _ = harness.command("chart throughput share")
    assert response.status_code == 200

    complete = harness.fake.wait_for("files.completeUploadExternal")[0]

    assert complete.params["channel_id"] == TEAM_CHANNEL


def test_members_cannot_change_settings(harness: BotHarness) -> None:
    for text in ("subscribe digest daily 09:30", "unsubscribe", "alerts off", "mute stale_item 3"):
        reply = harness.reply(text, user=MEMBER)
        assert "Only the admins" in reply["text"]
        assert MEMBER in reply["text"]
    engine = harness.runtime.engine
    assert load_subscriptions(engine) == []
    assert load_alert_channels(engine, "payments") == []
    assert active_mutes(engine, "payments", NOW) == []


def test_admin_subscribes_and_unsubscribes_a_channel(harness: BotHarness) -> None:
    reply = harness.reply("subscribe digest weekly friday 16:30", user=ADMIN)

    assert "every fri at 16:30" in reply["text"]
    (subscription,) = load_subscriptions(harness.runtime.engine)
    assert (subscription.channel_id, subscription.kind, subscription.weekday, subscription.at) == (
        TEAM_CHANNEL,
        "weekly",
        "fri",
        "16:30",
    )
    assert subscription.created_by == ADMIN
    assert harness.reply("unsubscribe weekly", user=ADMIN)["text"].startswith("Done")
    assert load_subscriptions(harness.runtime.engine) == []


def test_admin_switches_alerts_and_mutes_a_detector(harness: BotHarness) -> None:
    detector = detector_names()[0]

    harness.reply("alerts off", user=ADMIN)
    reply = harness.reply(f"mute {detector} 7", user=ADMIN)

    assert "for 7 day(s)" in reply["text"]
    (channel,) = load_alert_channels(harness.runtime.engine, "payments")
    assert (channel.channel_id, channel.enabled) == (TEAM_CHANNEL, False)
    (mute,) = active_mutes(harness.runtime.engine, "payments", NOW)
    assert mute.detector == detector
    assert mute.until is not None and (mute.until - NOW).days == 7


def test_muting_an_unknown_detector_lists_the_real_ones(harness: BotHarness) -> None:
    reply = harness.reply("mute nonsense", user=ADMIN)
    assert "no detector `nonsense`" in reply["text"]
    assert detector_names()[0] in reply["text"]


def test_a_channel_without_a_team_still_works_with_one_team(harness: BotHarness) -> None:
    reply = harness.reply("status", channel="C0OTHER", channel_name="random")
    assert "payments/demo" in json.dumps(reply["blocks"])


def test_show_all_sends_the_whole_list(harness: BotHarness) -> None:
    value = "aging|payments|"
    response, name = harness.click(ids.SHOW_ALL, value)
    assert response.status_code == 200

    reply = harness.fake.wait_for("response", name=name)[0].params

    lines = demo_digest(harness).aging
    text = json.dumps(reply["blocks"])
    assert all(line.key in text for line in lines)


@pytest.mark.parametrize(
    "text",
    [
        "<!channel>" + "x" * 200_000,
        "flow " + "<!channel>" * 20_000,
        "subscribe digest weekly " + "<!channel>" * 20_000 + " 09:00",
        "flow 14d " + " ".join(["<!channel>"] * 20_000),
    ],
)
def test_a_usage_reply_echoes_the_input_clipped_and_escaped(harness: BotHarness, text) -> None:
    response, _ = harness.command(text)

    assert response.status_code == 200
    assert len(response.content) < 3_000, "a long paste is not sent back whole"
    reply = response.json()
    assert "<!channel>" not in json.dumps(reply)
    assert "&lt;!channel&gt;" in reply["text"] and "…" in reply["text"]


def test_an_unknown_detector_is_echoed_clipped(harness: BotHarness) -> None:
    reply = harness.reply("mute " + "a" * 200_000, user=ADMIN)

    assert len(json.dumps(reply)) < 4_000
    assert "There is no detector `aaaa" in reply["text"] and "…" in reply["text"]
