"""Jira payloads to the model, the JQL and cursor of a sync, and the jira section of app.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fake_jira import FIXTURES, WORKFLOW

from bot.config import ConfigError, parse_config
from insights.model import Stage
from insights.workflow import Workflow
from integrations.jira.mapping import (
    FieldIds,
    MalformedIssue,
    MappingContext,
    parse_time,
    resolve_fields,
    slim_issue,
    to_item_history,
)
from integrations.jira.query import MAX_RECENT, Cursor, base_jql, sync_jql

CLOUD_FIELDS = FieldIds("customfield_10021", "customfield_10016")
DC_FIELDS = FieldIds("customfield_10100", "customfield_10106", "customfield_10101")


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def context(fields: FieldIds = CLOUD_FIELDS, statuses=None) -> MappingContext:
    workflow = Workflow({k: Stage(v) for k, v in WORKFLOW.items()})
    return MappingContext("payments", "https://acme.atlassian.net", workflow, fields, statuses)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-03T11:00:00.000+0100", at(3, 10)),
        ("2026-11-03T10:00:00.000Z", at(3, 10)),
        ("2026-11-03T05:00:00.000-0500", at(3, 10)),
        (1_793_786_400_000, at(4, 10)),  # epoch milliseconds
    ],
)
def test_jira_timestamps_become_utc(text, expected) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("bad", ["2026-11-03T10:00:00", "yesterday", None, True, {}])
def test_unusable_timestamps_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_custom_fields_are_found_by_name() -> None:
    assert resolve_fields(load("fields_cloud.json"), None) == CLOUD_FIELDS
    assert resolve_fields(load("fields_datacenter.json"), None) == DC_FIELDS
    by_name = resolve_fields(load("fields_cloud.json"), "story points")
    assert by_name.story_points == "customfield_10028"
    assert resolve_fields(load("fields_cloud.json"), "customfield_10028").story_points == (
        "customfield_10028"
    )
    assert resolve_fields([{"id": "summary"}, "junk", {"name": "Flagged"}], None) == FieldIds()
    with pytest.raises(ValueError, match="'Effort' is neither a field id nor a field name"):
        resolve_fields(load("fields_cloud.json"), "Effort")


def test_a_cloud_issue_with_its_bulk_changelog() -> None:
    issues = {i["key"]: i for i in load("cloud_search_page.json")["issues"]}
    logs = {
        c["issueId"]: c["changeHistories"]
        for c in load("cloud_bulk_changelog.json")["issueChangeLogs"]
    }
    pay2 = issues["PAY-2"]
    history, skipped = to_item_history(pay2, logs[pay2["id"]], context())
    item = history.item
    assert skipped == 0
    assert (item.id, item.key, item.type, item.status, item.stage) == (
        "jira:issue:PAY-2",
        "PAY-2",
        "Bug",
        "In Progress",
        Stage.ACTIVE,
    )
    assert (item.created_at, item.updated_at, item.resolved_at) == (at(10, 8, 15), at(17, 12), None)
    assert (item.assignee, item.priority, item.story_points) == ("Chen Wei", "Highest", 3.0)
    assert (item.blocked_by, item.parent_key, item.labels) == (("PAY-7",), None, ())
    assert item.url == "https://acme.atlassian.net/browse/PAY-2"
    assert [(t.at, t.from_status, t.to_status, t.to_stage) for t in history.transitions] == [
        (at(12, 9), "Backlog", "In Progress", Stage.ACTIVE),
        (at(13, 10), "In Progress", "Blocked", Stage.BLOCKED),
        (at(17, 12), "Blocked", "In Progress", Stage.ACTIVE),
    ]
    assert [(f.at, f.flagged) for f in history.flags] == [(at(13, 10, 5), True)]
    pay1 = issues["PAY-1"]
    assert to_item_history(pay1, logs[pay1["id"]], context())[0].item.parent_key == "PAY-100"


def test_a_data_center_issue_with_its_embedded_changelog() -> None:
    issues = {i["key"]: i for i in load("dc_search_page.json")["issues"]}
    pay1, _ = to_item_history(
        issues["PAY-1"], issues["PAY-1"]["changelog"]["histories"], context(DC_FIELDS)
    )
    assert pay1.item.parent_key == "PAY-100"  # from Epic Link
    assert pay1.item.story_points == 5.0
    assert [f.flagged for f in pay1.flags] == [True, False]  # Flagged matched by name
    pay7, skipped = to_item_history(
        issues["PAY-7"], issues["PAY-7"]["changelog"]["histories"], context(DC_FIELDS)
    )
    assert skipped == 1  # the entry dated "yesterday"; the assignee change is not an event
    assert [(t.from_status, t.to_status) for t in pay7.transitions] == [
        ("Backlog", "In Progress"),
        ("Code Review", "QA"),
    ]


def issue(status: str = "Done", category: str = "done", resolution: str | None = "Done", **fields):
    base = {
        "summary": "x",
        "issuetype": {"name": "Story"},
        "status": {"name": status, "statusCategory": {"key": category}},
        "created": "2026-11-01T09:00:00.000+0000",
        "updated": "2026-11-05T09:00:00.000+0000",
        "resolution": {"name": resolution} if resolution else None,
    }
    return {"id": "1", "key": "PAY-50", "fields": {**base, **fields}}


def change(hid: int, when: str, *items: dict) -> dict:
    return {"id": str(hid), "created": when, "items": list(items)}


def status(frm: str, to: str) -> dict:
    return {"field": "status", "fieldId": "status", "fromString": frm, "toString": to}


def resolution(to: str | None) -> dict:
    return {"field": "resolution", "fieldId": "resolution", "fromString": None, "toString": to}


def test_the_resolution_of_each_change_decides_done_or_cancelled() -> None:
    histories = [  # deliberately out of order: the mapper sorts by time, then id
        change(
            4,
            "2026-11-04T09:00:00.000+0000",
            status("In Progress", "Done"),
            resolution("Duplicate"),
        ),
        change(2, "2026-11-02T09:00:00.000+0000", status("Backlog", "Done"), resolution("Done")),
        change(3, "2026-11-03T09:00:00.000+0000", status("Done", "In Progress"), resolution(None)),
    ]
    history, _ = to_item_history(issue(resolution="Duplicate"), histories, context())
    assert [(t.from_stage, t.to_stage) for t in history.transitions] == [
        (Stage.BACKLOG, Stage.DONE),
        (Stage.DONE, Stage.ACTIVE),
        (Stage.ACTIVE, Stage.CANCELLED),
    ]
    assert history.item.stage is Stage.CANCELLED


def test_malformed_changelog_entries_are_skipped_and_counted() -> None:
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "In Progress")),
        {"id": "2", "created": "2026-11-03T09:00:00.000+0000", "items": "status"},
        change(3, "2026-11-03T10:00:00.000+0000", {"field": "status", "toString": None}),
        "not an object",
        change(5, "2026-11-04T09:00:00.000+0000", status("In Progress", "Done")),
    ]
    history, skipped = to_item_history(issue(), histories, context())
    assert skipped == 3
    assert [t.to_status for t in history.transitions] == ["In Progress", "Done"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"id": "9", "fields": {}}, "without a key"),
        ({"key": "PAY-9"}, "has no fields"),
        (issue(status=""), "no status name"),
        (issue(created=None), "has no created"),
        (issue(updated="12/11/2026"), "Invalid isoformat"),
    ],
)
def test_an_issue_that_cannot_be_a_work_item_is_malformed(payload, reason) -> None:
    with pytest.raises(MalformedIssue, match=reason):
        to_item_history(payload, [], context())


def test_unknown_statuses_use_categories_loaded_once() -> None:
    calls = []

    def statuses():
        calls.append(1)
        return load("statuses.json")

    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "Triage")),
        change(2, "2026-11-03T09:00:00.000+0000", status("Triage", "Parked")),
    ]
    ctx = context(statuses=statuses)
    history, _ = to_item_history(issue("Parked", "new", None), histories, ctx)
    assert [t.to_stage for t in history.transitions] == [Stage.BACKLOG, Stage.BACKLOG]
    to_item_history(issue("Parked", "new", None), histories, ctx)
    assert calls == [1]
    assert ctx.workflow.unmapped == {"Triage", "Parked"}


def test_the_search_restriction() -> None:
    assert base_jql(None, "PAY", ()) == 'project = "PAY"'
    assert base_jql(None, None, ("PAY", "OPS")) == 'project in ("PAY", "OPS")'
    assert base_jql("project = PAY AND type = Bug order by Rank", None, ()) == (
        "project = PAY AND type = Bug"
    )
    with pytest.raises(ValueError, match="no search restriction"):
        base_jql("ORDER BY created", None, ())
    with pytest.raises(ValueError, match="set jql or project"):
        base_jql(None, None, ())


def test_the_incremental_window_is_relative_to_the_server_clock() -> None:
    now = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert sync_jql('project = "PAY"', None, now, 5) == (
        'project = "PAY" ORDER BY updated ASC, key ASC'
    )
    since = now - timedelta(minutes=90, seconds=30)
    assert sync_jql("type = Bug", since, now, 5) == (
        '(type = Bug) AND updated >= "-96m" ORDER BY updated ASC, key ASC'
    )
    assert '"-5m"' in sync_jql("x = 1", now + timedelta(minutes=2), now, 5)  # clock skew


def test_the_cursor_keeps_the_overlap_tail_and_round_trips() -> None:
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    cursor = Cursor().advance(
        [
            ("PAY-1", t0 - timedelta(minutes=30)),
            ("PAY-2", t0 - timedelta(minutes=4)),
            ("PAY-3", t0),
        ],
        timedelta(minutes=7),
    )
    assert cursor.updated == t0
    assert set(cursor.recent) == {"PAY-2", "PAY-3"}
    again = Cursor.decode(cursor.encode())
    assert again == cursor
    assert again.known("PAY-3", t0) and not again.known("PAY-3", t0 + timedelta(seconds=1))
    assert not again.known("PAY-1", t0 - timedelta(minutes=30))
    assert Cursor.decode(None) == Cursor()


@pytest.mark.parametrize(
    "bad",
    [
        "{",
        '{"v": 2, "updated": "2026-11-01T00:00:00+00:00"}',
        '{"v": 1, "updated": "2026-11-01T00:00:00"}',
        '{"v": 1}',
        "[]",
    ],
)
def test_a_damaged_cursor_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Cursor.decode(bad)


def jira_section(**fields) -> dict:
    section = {"type": "jira", "url": "https://acme.atlassian.net", "project": "PAY"}
    section.update(fields)
    return {"teams": [{"name": "payments", "sources": [section]}]}


def problems(data, env=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=env or {})
    return info.value.problems


def test_the_jira_section_validates_and_hides_secrets() -> None:
    config = parse_config(
        jira_section(email="bot@acme.example", api_token="${JIRA_API_TOKEN}"),
        env={"JIRA_API_TOKEN": "tok-s3cret"},
    )
    source = config.teams[0].sources[0]
    assert source.api_token.get_secret_value() == "tok-s3cret"
    assert "tok-s3cret" not in repr(config)
    assert (source.deployment, source.page_size, source.overlap_minutes) == ("auto", 1000, 5)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "no credentials: set email + api_token"),
        ({"token": "${PAT:-}"}, "no credentials"),
        ({"email": "bot@acme.example"}, "api_token is missing"),
        ({"api_token": "tok-s3cret"}, "email is missing"),
        ({"email": "b@a.example", "api_token": "tok-s3cret", "token": "pat-s3cret"}, "not both"),
        ({"token": "pat-s3cret", "jql": "project = PAY"}, "either jql or project"),
        ({"token": "pat-s3cret", "deployment": "server"}, "'cloud' or 'datacenter'"),
    ],
)
def test_bad_jira_sections_are_explained_without_secrets(fields, message) -> None:
    (problem,) = problems(jira_section(**fields))
    assert problem.startswith("teams[0].sources[0]")
    assert message in problem
    assert "s3cret" not in problem


def test_a_jira_url_must_be_a_web_address() -> None:
    (problem,) = problems(jira_section(url="acme.atlassian.net", token="t"))
    assert problem.startswith("teams[0].sources[0].url: got 'acme.atlassian.net'")


@pytest.mark.parametrize(
    ("fixture", "fields"),
    [("cloud_search_page.json", CLOUD_FIELDS), ("dc_search_page.json", DC_FIELDS)],
)
def test_a_slimmed_issue_maps_exactly_like_the_full_payload(fixture: str, fields) -> None:
    for payload in load(fixture)["issues"]:
        histories = payload.get("changelog", {}).get("histories", [])
        slim = slim_issue(payload, fields)
        assert len(json.dumps(slim)) * 3 < len(json.dumps({**payload, "changelog": None}))
        assert to_item_history(slim, histories, context(fields)) == to_item_history(
            payload, histories, context(fields)
        )
    assert slim_issue({"key": "PAY-1"}, CLOUD_FIELDS) == {"key": "PAY-1"}


def test_the_cursor_remembers_a_bounded_tail() -> None:
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    seen = [(f"PAY-{n}", t0 + timedelta(milliseconds=n)) for n in range(MAX_RECENT + 10)]
    cursor = Cursor().advance(seen, timedelta(minutes=7))
    assert len(cursor.recent) == MAX_RECENT
    assert "PAY-0" not in cursor.recent and f"PAY-{MAX_RECENT + 9}" in cursor.recent
