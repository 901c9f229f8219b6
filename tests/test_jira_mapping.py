"""Jira payloads to the model, the JQL and cursor of a sync, and the jira section of app.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fake_jira import FIXTURES, WORKFLOW

from bot.config import ConfigError, parse_config
from insights.item_timeline import build_timeline
from insights.model import FlagChange, Stage
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
from integrations.jira.query import (
    MAX_RECENT,
    Cursor,
    Listing,
    Reconciliation,
    base_jql,
    reread_jql,
    sync_jql,
)

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


def issue(
    status: str = "Done",
    category: str = "done",
    resolution: str | None = "Done",
    status_id: str | None = None,
    **fields,
):
    base = {
        "summary": "x",
        "issuetype": {"name": "Story"},
        "status": {"id": status_id, "name": status, "statusCategory": {"key": category}},
        "created": "2026-11-01T09:00:00.000+0000",
        "updated": "2026-11-05T09:00:00.000+0000",
        "resolution": {"name": resolution} if resolution else None,
    }
    return {"id": "1", "key": "PAY-50", "fields": {**base, **fields}}


def change(hid: int, when: str, *items: dict) -> dict:
    return {"id": str(hid), "created": when, "items": list(items)}


def status(frm: str, to: str, frm_id: str | None = None, to_id: str | None = None) -> dict:
    return {
        "field": "status",
        "fieldId": "status",
        "from": frm_id,
        "fromString": frm,
        "to": to_id,
        "toString": to,
    }


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
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "Triage", "10000", "10010")),
        change(2, "2026-11-03T09:00:00.000+0000", status("Triage", "Parked", "10010", "10099")),
    ]
    ctx = context(statuses=statuses)
    parked = issue("Parked", "indeterminate", None, status_id="10099")
    history, _ = to_item_history(parked, histories, ctx)
    assert [t.to_stage for t in history.transitions] == [Stage.BACKLOG, Stage.ACTIVE]
    to_item_history(parked, histories, ctx)
    assert calls == [1]  # Triage's category came from /status; Parked's from the issue itself
    assert ctx.workflow.unmapped == {"Triage", "Parked"}


REVIEW_PAY, REVIEW_OPS = "20001", "20002"
"""One status name, "Review", in two team-managed projects: in progress in PAY, done in OPS."""


def test_a_status_category_is_found_by_status_id_not_by_name() -> None:
    site_statuses = [
        {"id": REVIEW_PAY, "name": "Review", "statusCategory": {"key": "indeterminate"}},
        {"id": REVIEW_OPS, "name": "Review", "statusCategory": {"key": "done"}},
        {"id": "20003", "name": "Triage", "statusCategory": {"key": "new"}},
    ]
    ctx = context(statuses=lambda: site_statuses)
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "Triage", "10000", "20003")),
        change(2, "2026-11-03T09:00:00.000+0000", status("Triage", "Review", "20003", REVIEW_PAY)),
    ]
    pay, _ = to_item_history(
        issue("Review", "indeterminate", None, status_id=REVIEW_PAY), histories, ctx
    )
    ops, _ = to_item_history(issue("Review", "done", None, status_id=REVIEW_OPS), [], ctx)

    assert [t.to_stage for t in pay.transitions] == [Stage.BACKLOG, Stage.ACTIVE]
    assert pay.item.stage is Stage.ACTIVE  # /status lists the other Review too: it must not win
    assert ops.item.stage is Stage.DONE  # the stage found for PAY's Review is not reused


def test_a_changelog_target_id_unknown_to_issues_uses_the_site_statuses() -> None:
    site_statuses = [{"id": REVIEW_OPS, "name": "Review", "statusCategory": {"key": "done"}}]
    ctx = context(statuses=lambda: site_statuses)
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "Review", "10000", REVIEW_OPS)),
        change(2, "2026-11-03T09:00:00.000+0000", status("Review", "Backlog", REVIEW_OPS, "10000")),
    ]
    history, _ = to_item_history(issue("Backlog", "new", None, status_id="10000"), histories, ctx)
    assert [(t.from_stage, t.to_stage) for t in history.transitions] == [
        (Stage.BACKLOG, Stage.DONE),
        (Stage.DONE, Stage.BACKLOG),
    ]


def unknown_status_history(*moves: tuple[int, str, str]) -> list[dict]:
    ids = {"Backlog": "10000", "In Progress": "3", "Done": "10006"}
    return [
        change(
            n,
            f"2026-11-{n + 1:02d}T09:00:00.000+0000",
            status(a, b, ids.get(a, "30001"), ids.get(b, "30001")),
        )
        for n, a, b in moves
    ]


def test_a_status_with_no_mapping_and_no_category_never_starts_work() -> None:
    ctx = context(statuses=lambda: load("statuses.json"))  # which lacks "Peer Check"
    histories = unknown_status_history(
        (1, "Backlog", "Peer Check"),
        (2, "Peer Check", "In Progress"),
        (3, "In Progress", "Peer Check"),
    )
    no_category = issue("Peer Check", "undefined", None, status_id="30001")

    history, _ = to_item_history(no_category, histories, ctx)

    assert [(t.from_stage, t.to_stage) for t in history.transitions] == [
        (Stage.BACKLOG, Stage.BACKLOG),  # before the commitment point: not started
        (Stage.BACKLOG, Stage.ACTIVE),
        (Stage.ACTIVE, Stage.WAITING),  # after it: started, waiting until it is mapped
    ]
    assert history.item.stage is Stage.WAITING
    timeline = build_timeline(history.item, history.transitions)
    assert timeline.started_at == at(3, 9)  # entering In Progress, not the unknown status
    assert ctx.workflow.unmapped == {"Peer Check"}
    never_moved, _ = to_item_history(no_category, [], context())
    assert never_moved.item.stage is Stage.BACKLOG


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
        '{"v": 1, "updated": "2026-11-01T00:00:00+00:00", "reconciled": {"max_id": 3}}',
        '{"v": 1, "updated": "2026-11-01T00:00:00+00:00", "reconciled": {"at": "2026-11-01"}}',
        '{"v": 1, "updated": "2026-11-01T00:00:00+00:00", "reconciled": []}',
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


FLAGGED = CLOUD_FIELDS.flagged


def flag(on: bool) -> dict:
    value = ("[10019]", "Impediment")
    frm, to = ((None, None), value) if on else (value, (None, None))
    return {
        "field": "Flagged",
        "fieldId": FLAGGED,
        "from": frm[0],
        "fromString": frm[1],
        "to": to[0],
        "toString": to[1],
    }


def flagged_issue(**fields) -> dict:
    impediment = [{"id": "10019", "value": "Impediment"}]
    return issue(
        "In Progress", "indeterminate", None, status_id="3", **{FLAGGED: impediment}, **fields
    )


def flags_of(payload: dict, histories: list) -> list[tuple[datetime, bool, bool]]:
    history, _ = to_item_history(payload, histories, context())
    return [(f.at, f.flagged, f.inferred) for f in history.flags]


def test_a_block_set_by_an_unreadable_change_starts_at_the_next_readable_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "In Progress", "10000", "3")),
        {"id": "2", "created": "yesterday", "items": [flag(True)]},
        change(3, "2026-11-04T09:00:00.000+0000", resolution(None)),
    ]
    history, skipped = to_item_history(flagged_issue(), histories, context())
    assert skipped == 1
    assert history.flags == (FlagChange("jira:issue:PAY-50", at(4, 9), True, inferred=True),)
    assert "PAY-50 was flagged by a change that is unreadable" in caplog.text


def test_without_later_evidence_an_unreadable_block_starts_at_the_last_update() -> None:
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "In Progress", "10000", "3")),
        {"id": "2", "created": "2026-11-03T09:00:00.000+0000", "items": "garbled"},
    ]
    assert flags_of(flagged_issue(), histories) == [(at(5, 9), True, True)]  # "updated"


def test_a_block_set_again_by_an_unreadable_change_is_not_lost() -> None:
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", flag(True)),
        change(2, "2026-11-02T10:00:00.000+0000", flag(False)),
        {"id": "3", "created": "2026-11-03T25:00:00.000+0000", "items": [flag(True)]},
        change(4, "2026-11-04T09:00:00.000+0000", status("Backlog", "In Progress", "10000", "3")),
    ]
    assert flags_of(flagged_issue(), histories) == [
        (at(2, 9), True, False),
        (at(2, 10), False, False),
        (at(4, 9), True, True),
    ]


def test_a_block_set_at_creation_is_not_blamed_on_an_unrelated_unreadable_change() -> None:
    histories = [
        {"id": "1", "created": "yesterday", "items": [status("Backlog", "In Progress")]},
        change(2, "2026-11-04T09:00:00.000+0000", status("In Progress", "QA", "3", "10004")),
    ]
    assert flags_of(flagged_issue(), histories) == [(at(1, 9), True, False)]  # created


def test_a_reconciliation_tells_issues_moved_in_from_issues_created_since() -> None:
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    listing = Listing()
    for issue_id, key in (("10001", "PAY-1"), ("10007", "PAY-7"), ("10003", "OPS-2")):
        listing.add(issue_id, key)
    then = listing.reconciliation(t0, None)
    assert (then.max_id, dict(then.numbers)) == (10007, {"PAY": 7, "OPS": 2})
    assert then.moved_in("10002", "PAY-8")  # an old issue under a key newer than PAY's newest
    assert then.moved_in("10004", "WEB-1")  # a project the scope did not have
    assert not then.moved_in("10009", "PAY-8")  # created since: the updated search finds it
    assert not then.moved_in("10001", "PAY-1")  # where it was
    assert not then.moved_in("x", "PAY-9") and not then.moved_in("10002", "odd")
    later = Listing()
    later.add("10002", "PAY-8")
    widened = later.reconciliation(t0 + timedelta(days=1), then)
    assert (widened.max_id, dict(widened.numbers)) == (10007, {"PAY": 8, "OPS": 2})


def test_a_cursor_keeps_its_reconciliation_and_reads_cursors_stored_without_one() -> None:
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    plain = Cursor().advance([("PAY-1", t0)], timedelta(minutes=7))
    old_form = json.dumps({"v": 1, "updated": "2026-11-25T12:00:00.000+00:00", "recent": {}})
    assert Cursor.decode(old_form).reconciled is None
    assert Cursor.decode(old_form).reconciliation_due(t0, timedelta(days=1))
    done = Cursor(plain.updated, plain.recent, Reconciliation(t0, 10007, {"PAY": 7}))
    again = Cursor.decode(done.encode())
    assert again == done
    assert again.advance([("PAY-2", t0 + timedelta(minutes=1))], timedelta(minutes=7)).reconciled
    assert not again.reconciliation_due(t0 + timedelta(hours=23), timedelta(days=1))
    assert again.reconciliation_due(t0 + timedelta(days=1), timedelta(days=1))


def test_issues_to_read_again_are_named_in_the_jql() -> None:
    assert reread_jql('project = "PAY"', ["PAY-8", "OPS-1"]) == (
        '(project = "PAY") AND key in ("PAY-8", "OPS-1") ORDER BY updated ASC, key ASC'
    )


def test_a_cleared_block_whose_start_is_unreadable_is_kept_from_the_evidence() -> None:
    histories = [
        change(1, "2026-11-02T09:00:00.000+0000", status("Backlog", "In Progress", "10000", "3")),
        {"id": "2", "created": "2026-11-02T25:00:00.000+0000", "items": [flag(True)]},
        change(3, "2026-11-03T09:00:00.000+0000", resolution(None)),
        change(4, "2026-11-04T09:00:00.000+0000", flag(False)),
    ]
    assert flags_of(issue("In Progress", "indeterminate", None), histories) == [
        (at(3, 9), True, True),
        (at(4, 9), False, False),
    ]


def test_a_block_set_at_creation_and_cleared_later_counts_from_creation() -> None:
    histories = [change(1, "2026-11-04T09:00:00.000+0000", flag(False))]
    assert flags_of(issue("In Progress", "indeterminate", None), histories) == [
        (at(1, 9), True, False),  # created flagged: Jira records no change for it
        (at(4, 9), False, False),
    ]
