"""The Jira source against the fake Jira (Cloud and Data Center): what it maps, what it asks."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fake_jira import FIXTURES, WORKFLOW, FakeJira, Fault, credentials

from insights.model import ItemHistory, Page, Stage
from insights.workflow import Workflow
from integrations.base import SourceContext, SourceError
from integrations.jira import Config, JiraSource, build

SCENARIO = json.loads((FIXTURES / "scenario.json").read_text())
MALFORMED = {"PAY-6"}
VALID_KEYS = {i["key"] for i in SCENARIO["issues"]} - MALFORMED


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def expected_transitions(key: str) -> list[tuple[datetime, str, str]]:
    """Status changes straight from the scenario file (a broken changelog entry is lost)."""
    raw = next(i for i in SCENARIO["issues"] if i["key"] == key)
    broken = {int(i) for i in raw.get("broken_changes", {})}
    out, previous = [], "Backlog"
    for index, (at, kind, *args) in enumerate(raw["events"]):
        if kind == "status":
            if index not in broken:
                out.append((utc(at), previous, args[0]))
            previous = args[0]
    return out


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest):
    with FakeJira(
        request.param, cloud_page_cap=3, dc_page_cap=4, dc_inline_histories=10, bulk_page_cap=7
    ) as server:
        server.load_scenario()
        yield server


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_source(fake: FakeJira, sleeps: Sleeps | None = None, **settings) -> JiraSource:
    section = {"type": "jira", "url": fake.base_url, "project": "PAY"}
    section.update(credentials(fake.deployment))
    section.update(settings)
    context = SourceContext(
        team="payments",
        workflow=Workflow({k: Stage(v) for k, v in WORKFLOW.items()}),
        now=lambda: fake.now,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )
    return build(Config.model_validate(section), context)


def by_key(pages: list[Page]) -> dict[str, ItemHistory]:
    return {h.item.key: h for page in pages for h in page.histories}


def test_a_backfill_maps_every_field_of_an_issue(fake: FakeJira) -> None:
    pages = list(make_source(fake).pull(None))
    pay1 = by_key(pages)["PAY-1"]
    item = pay1.item
    assert (item.id, item.team, item.source, item.key) == (
        "jira:issue:PAY-1",
        "payments",
        "jira",
        "PAY-1",
    )
    assert (item.type, item.title, item.status, item.stage) == (
        "Story",
        "Refund endpoint times out under load",
        "Done",
        Stage.DONE,
    )
    assert item.created_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert item.updated_at == item.resolved_at == datetime(2026, 11, 9, 16, 45, tzinfo=UTC)
    assert (item.assignee, item.priority, item.labels) == (
        "Dana Ruiz",
        "High",
        ("backend", "payments"),
    )
    assert (item.parent_key, item.story_points, item.blocked_by) == ("PAY-100", 5.0, ())
    assert item.url == f"{fake.base_url}/browse/PAY-1"
    assert [
        (t.at, t.from_status, t.to_status, t.from_stage, t.to_stage) for t in pay1.transitions
    ] == [
        (
            utc("2026-11-03T10:00:00Z"),
            "Backlog",
            "Selected for Development",
            Stage.BACKLOG,
            Stage.WAITING,
        ),
        (
            utc("2026-11-04T09:30:00Z"),
            "Selected for Development",
            "In Progress",
            Stage.WAITING,
            Stage.ACTIVE,
        ),
        (utc("2026-11-07T14:00:00Z"), "In Progress", "Code Review", Stage.ACTIVE, Stage.ACTIVE),
        (utc("2026-11-09T16:45:00Z"), "Code Review", "Done", Stage.ACTIVE, Stage.DONE),
    ]
    assert [(f.at, f.flagged) for f in pay1.flags] == [
        (utc("2026-11-05T11:00:00Z"), True),
        (utc("2026-11-06T15:00:00Z"), False),
    ]


def test_blocked_flagged_cancelled_and_flagged_at_creation(fake: FakeJira) -> None:
    got = by_key(list(make_source(fake).pull(None)))
    pay2 = got["PAY-2"]
    assert (pay2.item.type, pay2.item.status, pay2.item.stage) == (
        "Bug",
        "In Progress",
        Stage.ACTIVE,
    )
    assert (pay2.item.blocked_by, pay2.item.story_points, pay2.item.priority) == (
        ("PAY-7",),
        3.0,
        "Highest",
    )
    assert pay2.item.resolved_at is None and pay2.item.labels == ()
    assert [(f.at, f.flagged) for f in pay2.flags] == [(utc("2026-11-13T10:05:00Z"), True)]
    assert pay2.transitions[1].to_stage is Stage.BLOCKED
    pay3 = got["PAY-3"]
    assert (pay3.item.status, pay3.item.stage) == ("Won't Do", Stage.CANCELLED)
    assert pay3.item.resolved_at == utc("2026-11-03T11:20:00Z")
    pay8 = got["PAY-8"]
    assert [(f.at, f.flagged) for f in pay8.flags] == [(utc("2026-11-19T09:00:00Z"), True)]


def test_every_issue_arrives_with_its_full_status_history(fake: FakeJira) -> None:
    got = by_key(list(make_source(fake).pull(None)))
    assert set(got) == VALID_KEYS
    for key, history in got.items():
        assert [(t.at, t.from_status, t.to_status) for t in history.transitions] == (
            expected_transitions(key)
        ), key
    assert len(got["PAY-5"].transitions) == 16  # more than any inline changelog holds


def test_malformed_issue_and_changelog_entry_are_skipped_counted_and_logged(
    fake: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        pages = list(make_source(fake).pull(None))
    assert sum(p.skipped for p in pages) == 2
    assert "PAY-6" not in by_key(pages)
    assert "PAY-6" in caplog.text and "31/11/2026" in caplog.text
    assert "of PAY-7" in caplog.text and "yesterday" in caplog.text


def test_unmapped_statuses_fall_back_on_their_category_and_are_reported(fake: FakeJira) -> None:
    pages = list(make_source(fake).pull(None))
    pay4 = by_key(pages)["PAY-4"]
    assert (pay4.item.status, pay4.item.stage) == ("In Design", Stage.ACTIVE)
    assert [(t.to_status, t.to_stage) for t in pay4.transitions] == [
        ("Triage", Stage.BACKLOG),  # category "new", known only from /status
        ("In Design", Stage.ACTIVE),
    ]
    assert pages[-1].unmapped_statuses == {"Triage", "In Design"}
    assert fake.count("/status") == 1


def test_a_team_managed_status_keeps_its_own_category(fake: FakeJira) -> None:
    """OPS's own "In Design" is a to-do status; PAY's "In Design" is in progress."""
    fake.add_status("In Design", "new", "OPS")
    fake.add_issue("OPS-1", "Task", "Sketch the ops dashboard", utc("2026-11-20T09:00:00Z"))
    fake.move("OPS-1", "In Design", utc("2026-11-24T09:00:00Z"))  # after PAY-4's last change

    got = by_key(list(make_source(fake, project=None, jql="project in (PAY, OPS)").pull(None)))

    assert (got["PAY-4"].item.stage, got["PAY-4"].transitions[-1].to_stage) == (
        Stage.ACTIVE,
        Stage.ACTIVE,
    )
    assert (got["OPS-1"].item.stage, got["OPS-1"].transitions[-1].to_stage) == (
        Stage.BACKLOG,
        Stage.BACKLOG,
    )


def test_a_block_whose_flagging_change_is_unreadable_starts_at_the_evidence(
    fake: FakeJira,
) -> None:
    fake.add_issue("PAY-13", "Story", "Refund emails", utc("2026-11-20T09:00:00Z"))
    fake.move("PAY-13", "In Progress", utc("2026-11-21T09:00:00Z"))
    fake.flag("PAY-13", True, utc("2026-11-22T09:00:00Z"))
    fake.issues["PAY-13"].changes[-1].raw_created = "22/11/2026"
    fake.move("PAY-13", "Code Review", utc("2026-11-23T09:00:00Z"))

    pages = list(make_source(fake).pull(None))

    flags = by_key(pages)["PAY-13"].flags
    assert [(f.at, f.flagged, f.inferred) for f in flags] == [
        (utc("2026-11-23T09:00:00Z"), True, True)  # not since its creation on the 20th
    ]
    assert sum(p.skipped for p in pages) == 3


def test_time_zone_offsets_of_the_site_become_utc() -> None:
    with FakeJira("cloud", tz=timezone(timedelta(hours=-5))) as fake:
        fake.load_scenario()
        pay1 = by_key(list(make_source(fake).pull(None)))["PAY-1"]
    assert pay1.item.created_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert pay1.transitions[0].at == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def status_histories(fake: FakeJira, keys: set[str] | None = None) -> int:
    """Histories the bulk changelog returns for ``keys`` (default: every issue)."""
    tracked = {"status", "resolution", fake.fields["flagged"]}
    return sum(
        any(item["fieldId"] in tracked for item in change.items)
        for issue in fake.issues.values()
        if keys is None or issue.key in keys
        for change in issue.changes
    )


def test_cloud_pages_the_enhanced_search_and_bulk_fetches_changelogs() -> None:
    with FakeJira("cloud", cloud_page_cap=3, bulk_page_cap=7) as fake:
        fake.load_scenario()
        list(make_source(fake).pull(None))
    issues = len(fake.issues)
    searches = [r for r in fake.requests if r.path == "/rest/api/3/search/jql"]
    bulk = [r for r in fake.requests if r.path == "/rest/api/3/changelog/bulkfetch"]
    assert len(searches) == math.ceil(issues / 3)
    assert len(bulk) == math.ceil(status_histories(fake) / 7)
    assert fake.count() == 2 + len(searches) + len(bulk) + 2  # ..., /status, the versions
    assert all("changelog" not in json.dumps(r.body.get("expand", "")) for r in searches)
    assert all(r.body["fields"][:3] == ["summary", "issuetype", "status"] for r in searches)
    assert "customfield_10021" in searches[0].body["fields"]  # Flagged, found through /field
    assert bulk[0].body["fieldIds"] == ["status", "resolution", "customfield_10021"]
    assert len(bulk[0].body["issueIdsOrKeys"]) == issues
    assert fake.count("/rest/api/2/search") == fake.count("/rest/api/3/search/approximate") == 0


def test_data_center_pages_by_start_at_and_completes_truncated_changelogs() -> None:
    with FakeJira("datacenter", dc_page_cap=4, dc_inline_histories=10) as fake:
        fake.load_scenario()
        got = by_key(list(make_source(fake).pull(None)))
    searches = [r for r in fake.requests if r.path == "/rest/api/2/search"]
    assert [r.body["startAt"] for r in searches] == [0, 3, 6, 9]  # the server grants 4 of 1000
    assert all(r.body["maxResults"] == 1000 and r.body["expand"] == ["changelog"] for r in searches)
    long = [key for key, issue in fake.issues.items() if len(issue.changes) > 10]
    assert long == ["PAY-5"]
    assert [r.path for r in fake.requests if r.path.startswith("/rest/api/2/issue/")] == [
        "/rest/api/2/issue/PAY-5"
    ]
    assert len(got["PAY-5"].transitions) == 16


def test_a_sync_with_nothing_new_costs_four_requests_and_stores_nothing(fake: FakeJira) -> None:
    source = make_source(fake)
    cursor = list(source.pull(None))[-1].cursor
    fake.requests.clear()
    fake.now += timedelta(hours=3)
    assert list(make_source(fake).pull(cursor)) == []
    assert fake.count() == 4  # serverInfo, field, the search, the project's versions


def test_an_incremental_sync_reads_only_changed_issues_with_their_full_history(
    fake: FakeJira,
) -> None:
    cursor = list(make_source(fake).pull(None))[-1].cursor
    fake.now += timedelta(hours=2)
    fake.move("PAY-1", "In Progress", fake.now - timedelta(minutes=30))  # reopened
    fake.move("PAY-9", "In Progress", fake.now - timedelta(minutes=10))
    fake.requests.clear()
    pages = list(make_source(fake).pull(cursor))
    got = by_key(pages)
    assert list(got) == ["PAY-1", "PAY-9"]  # oldest update first
    assert [t.to_status for t in got["PAY-1"].transitions] == [
        "Selected for Development",
        "In Progress",
        "Code Review",
        "Done",
        "In Progress",
    ]
    assert (got["PAY-1"].item.stage, got["PAY-1"].item.resolved_at) == (Stage.ACTIVE, None)
    assert json.loads(pages[-1].cursor)["updated"] == "2026-11-25T17:50:00.000+00:00"
    if fake.deployment == "cloud":  # one search page, then the two issues' changelogs
        bulk_pages = math.ceil(status_histories(fake, {"PAY-1", "PAY-9"}) / 7)
        assert fake.count() == 4 + bulk_pages == 4 + fake.count("/changelog/bulkfetch")
    else:
        assert fake.count() == 4  # serverInfo, field, the search, the project's versions


def test_the_overlap_rereads_late_indexed_issues(fake: FakeJira) -> None:
    """An issue updated before the cursor but missed by the last sync is still picked up."""
    cursor = list(make_source(fake).pull(None))[-1].cursor
    high = utc(json.loads(cursor)["updated"])
    fake.move("PAY-12", "In Progress", high - timedelta(minutes=3))
    pages = list(make_source(fake).pull(cursor))
    assert list(by_key(pages)) == ["PAY-12"]


def test_a_failure_mid_sync_leaves_the_cursor_after_the_last_yielded_page() -> None:
    with FakeJira("datacenter", dc_page_cap=4, dc_inline_histories=100) as fake:
        fake.load_scenario()
        complete = by_key(list(make_source(fake).pull(None)))
        pages = make_source(fake).pull(None)
        first = next(pages)
        fake.faults.append(Fault("/rest/api/2/search", 500, times=99))
        with pytest.raises(SourceError, match="cursor stays"):
            next(pages)
        fake.faults.clear()
        rest = list(make_source(fake).pull(first.cursor))
    resumed = by_key([first, *rest])
    assert resumed == complete


def test_cloud_yields_nothing_when_the_bulk_changelog_fails() -> None:
    with FakeJira("cloud", cloud_page_cap=3, bulk_page_cap=7) as fake:
        fake.load_scenario()
        fake.faults.append(Fault("/changelog/bulkfetch", 503, times=99, skip=1))
        pages = make_source(fake, max_retries=2).pull(None)
        with pytest.raises(SourceError) as info:
            next(pages)
    message = str(info.value)
    assert message.startswith("payments/jira: gave up on POST rest/api/3/changelog/bulkfetch")
    assert "after 2 retries (HTTP 503)" in message and "cursor stays" in message


def test_429_retry_after_is_honoured(fake: FakeJira) -> None:
    fake.faults.append(Fault("/search", 429, headers={"Retry-After": "7"}))
    sleeps = Sleeps()
    got = by_key(list(make_source(fake, sleeps).pull(None)))
    assert sleeps == [7.0]
    assert set(got) == VALID_KEYS


def test_a_500_in_the_middle_of_a_page_is_retried(fake: FakeJira) -> None:
    path = "/changelog/bulkfetch" if fake.deployment == "cloud" else "/rest/api/2/issue/"
    fake.faults.append(Fault(path, 500, skip=1 if fake.deployment == "cloud" else 0))
    sleeps = Sleeps()
    got = by_key(list(make_source(fake, sleeps).pull(None)))
    assert sleeps == [1.0]
    assert len(got["PAY-5"].transitions) == 16 and set(got) == VALID_KEYS


def test_wrong_credentials_stop_with_a_clear_error_and_no_secret(
    fake: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = {"api_token": "not-the-token"} if fake.deployment == "cloud" else {"token": "nope-pat"}
    with pytest.raises(SourceError) as info, caplog.at_level(logging.DEBUG):
        list(make_source(fake, **wrong).pull(None))
    message = str(info.value)
    assert "HTTP 401" in message and "check the credentials" in message
    assert message.startswith("payments/jira:")
    secret = next(iter(wrong.values()))
    assert secret not in message and secret not in caplog.text


def test_issues_updated_during_a_sweep_are_not_lost(
    fake: FakeJira,
) -> None:
    """An issue read on page 1 and updated before page 2 moves to the end of the order."""
    searches = []

    def update_after_first_page(server: FakeJira, request) -> None:
        if "search" in request.path:
            searches.append(request.path)
            if len(searches) == 2:
                server.move("PAY-100", "Done", server.now - timedelta(minutes=1), "Done")

    fake.on_request = update_after_first_page
    pages = list(make_source(fake).pull(None))
    keys = [h.item.key for p in pages for h in p.histories]
    assert set(keys) == VALID_KEYS
    assert keys.count("PAY-100") == 2  # once as first read, once as updated
    assert by_key(pages)["PAY-100"].item.status == "Done"


def test_deployment_is_detected_and_can_be_overridden() -> None:
    with FakeJira("cloud") as fake:
        fake.load_scenario()
        with pytest.raises(SourceError, match="HTTP 410"):  # the removed search, as Cloud says
            list(make_source(fake, deployment="datacenter").pull(None))


def test_dry_run_counts_the_matching_issues(fake: FakeJira) -> None:
    assert make_source(fake).dry_run() == {"issues": len(fake.issues)}
    assert fake.count() == 2


def test_story_points_field_by_name_or_id_and_an_unknown_name_is_explained() -> None:
    with FakeJira("cloud") as fake:
        fake.load_scenario()
        got = by_key(list(make_source(fake, story_points_field="Story point estimate").pull(None)))
        assert got["PAY-1"].item.story_points == 5.0
        legacy = by_key(list(make_source(fake, story_points_field="customfield_10028").pull(None)))
        assert legacy["PAY-1"].item.story_points is None  # that field holds nothing here
        with pytest.raises(SourceError, match="'Estimate' is neither a field id nor a field"):
            list(make_source(fake, story_points_field="Estimate").pull(None))


def test_a_source_without_anything_to_search_is_refused() -> None:
    config = Config.model_validate({"type": "jira", "url": "https://x.example", "token": "t"})
    context = SourceContext("payments", Workflow({}), lambda: datetime.now(UTC), lambda s: None)
    with pytest.raises(SourceError, match="set jql or project"):
        JiraSource(config, context)


def test_a_damaged_cursor_is_refused_with_advice(fake: FakeJira) -> None:
    with pytest.raises(SourceError, match="reset the source's cursor"):
        list(make_source(fake).pull('{"v": 1}'))
