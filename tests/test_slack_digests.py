"""Scheduled digests on the demo data: posted once per period, chart in the thread, skips."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.answering.answers import Answers
from bot.slack.answering.render_digest import FLOW_WINDOW_DAYS, short_action
from bot.slack.delivering.client import make_client
from bot.slack.delivering.digests import digest_period, send_digest
from bot.slack.delivering.jobs import post_digest
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import Poster
from bot.sync import source_key
from storage.health import record_health
from storage.sends import SendKey, load_send
from tests.conftest import NOW
from tests.fake_slack import BOT_TOKEN
from tests.slack_harness import TEAM_CHANNEL, demo_config


def test_the_daily_digest_posts_once_even_when_its_job_runs_twice(harness, fake) -> None:
    deps = harness.bot.deps
    team = harness.runtime.config.teams[0]

    outcomes = [post_digest(deps, "payments", team.channel, None, "daily") for _ in range(2)]

    assert outcomes == ["sent", "already sent"]
    (post,) = fake.calls_to("chat.postMessage")
    assert post.params["channel"] == TEAM_CHANNEL, "the app.yaml channel name is resolved"
    report = deps.answers.report(team, NOW, window_days=FLOW_WINDOW_DAYS)
    assert report.focus, "the demo plants problems"
    text = post.block_text
    assert f"Focus today ({len(report.focus)})" in text
    for item in report.focus:
        assert f"|{item.finding.subject}>*" in text
        assert short_action(item.finding.action) in text.replace("&amp;", "&")
    assert "Since the last digest" in text and f"All {len(report.subjects)} findings" in text
    assert "needs attention" in post.params["text"]
    complete = fake.wait_for("files.completeUploadExternal")[0]
    assert complete.params["thread_ts"] == post.reply["ts"]
    assert complete.params["channel_id"] == TEAM_CHANNEL


def test_concurrent_runs_post_once(harness, fake) -> None:
    deps = harness.bot.deps
    results: list[str | None] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                post_digest(deps, "payments", TEAM_CHANNEL, None, "weekly")
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == ["already sent"] * 3 + ["sent"]
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_the_weekly_digest_shows_trends_with_verdicts(harness, fake) -> None:
    post_digest(harness.bot.deps, "payments", TEAM_CHANNEL, None, "weekly")

    (post,) = fake.calls_to("chat.postMessage")
    text = post.block_text
    assert text.startswith(f"Week {NOW.isocalendar().week} · payments")
    assert "Throughput" in text and "vs last week" in text
    assert "bottleneck to discuss at the retrospective" in text
    assert "Forecast: the next 10 items" in text
    assert "daily throughput of the last 60 days" in text, "the forecast says what it drew on"


def test_the_next_period_posts_again(harness, fake) -> None:
    deps = harness.bot.deps
    team = harness.runtime.config.teams[0]
    poster = deps.poster(harness.bot.app.client)
    engine = harness.runtime.engine
    tomorrow = NOW + timedelta(days=1)

    first = send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW)
    second = send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", tomorrow)

    assert (first, second) == ("sent", "sent")
    assert digest_period("daily", team, NOW) == "2026-11-25"
    assert digest_period("weekly", team, NOW) == "2026-W48"


def test_a_failed_post_is_marked_failed_and_retried(harness, fake) -> None:
    deps = harness.bot.deps
    team = harness.runtime.config.teams[0]
    poster = deps.poster(harness.bot.app.client)
    engine = harness.runtime.engine
    key = SendKey("payments", TEAM_CHANNEL, "digest_daily", "2026-11-25")
    fake.fail_next("chat.postMessage", status=200, retry_after=None, error="channel_not_found")
    wait = timedelta(minutes=5)

    with pytest.raises(SlackApiError):
        send_digest(engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW)
    failed = load_send(engine, key)
    too_soon = send_digest(
        engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW, retry_after=wait
    )
    retried = send_digest(
        engine, deps.answers, poster, team, TEAM_CHANNEL, "daily", NOW + wait, retry_after=wait
    )

    assert failed is not None and failed.state == "failed", "never marked sent"
    assert (too_soon, retried) == ("already sent", "sent")
    record = load_send(engine, key)
    assert record is not None and record.state == "sent"
    assert record.ts == fake.calls_to("chat.postMessage")[-1].reply["ts"]


def test_nothing_to_say_is_skipped_not_posted(fake, sqlite_engine, tmp_path) -> None:
    config = demo_config(fake)
    team = config.teams[0]
    poster = Poster(make_client(fake.api_url, BOT_TOKEN), ChannelPacer(interval=0))
    answers = Answers(sqlite_engine)
    before_sync = send_digest(sqlite_engine, answers, poster, team, "C1", "daily", NOW)
    for source in team.source_configs():  # synced, and found nothing
        record_health(
            sqlite_engine, source_key=source_key(team, source), team=team.name, source="x", now=NOW
        )

    outcome = send_digest(sqlite_engine, answers, poster, team, "C1", "daily", NOW)

    assert (before_sync, outcome) == ("waiting", "skipped")
    assert fake.calls_to("chat.postMessage") == []
    key = SendKey("payments", "C1", "digest_daily", "2026-11-25")
    assert load_send(sqlite_engine, key).state == "skipped"
