"""Jira mapping's memory across issues: stages per sync, parsed issue timestamps.

Neither changes a result: an issue maps the same after thousands of others as in a sync of its
own, and an unreadable timestamp is refused whatever its type.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fake_jira import WORKFLOW
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.model import Stage
from insights.workflow import Workflow
from integrations.jira.mapping import (
    FieldIds,
    MalformedIssue,
    MappingContext,
    issue_updated,
    to_item_history,
)

FIELDS = FieldIds("customfield_10021", "customfield_10016")
SITE = {  # name -> (id, category): the workflow maps the first six, not the last three
    "Backlog": ("1", "new"),
    "In Progress": ("3", "indeterminate"),
    "in progress": ("3", "indeterminate"),
    "QA": ("4", "indeterminate"),
    "Done": ("5", "done"),
    "Won't Do": ("6", "done"),
    "Triage": ("7", "new"),
    "Parked": ("8", "indeterminate"),
    "Closed": ("9", "done"),
}
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def context() -> MappingContext:
    site = [{"id": i, "statusCategory": {"key": c}} for i, c in SITE.values()]
    workflow = Workflow({k: Stage(v) for k, v in WORKFLOW.items()})
    return MappingContext("payments", "https://acme.example", workflow, FIELDS, lambda: site)


def jira_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


names = st.sampled_from(sorted(SITE))
resolutions = st.sampled_from([None, "Done", "Won't Do", "Duplicate"])


@st.composite
def changes(draw: st.DrawFn, hid: int) -> dict:
    """One changelog history: a status change, a resolution, a flag, or several at once."""
    items = []
    if draw(st.booleans()):
        source, target = draw(names), draw(names)
        items.append(
            {
                "fieldId": "status",
                "from": SITE[source][0],
                "fromString": draw(st.sampled_from([source, None])),
                "to": draw(st.sampled_from([SITE[target][0], int(SITE[target][0]), None])),
                "toString": target,
            }
        )
    if draw(st.booleans()):
        items.append({"fieldId": "resolution", "toString": draw(resolutions)})
    if draw(st.integers(0, 4)) == 0:
        items.append({"fieldId": FIELDS.flagged, "toString": draw(st.sampled_from([None, "x"]))})
    minutes = draw(st.integers(0, 60 * 24 * 30))
    return {"id": str(hid), "created": jira_time(T0 + timedelta(minutes=minutes)), "items": items}


@st.composite
def issues(draw: st.DrawFn, number: int) -> tuple[dict, list[dict]]:
    name = draw(names)
    histories = [draw(changes(hid)) for hid in range(draw(st.integers(0, 8)))]
    resolution = draw(resolutions)
    fields = {
        "status": {"id": SITE[name][0], "name": name, "statusCategory": {"key": SITE[name][1]}},
        "created": jira_time(T0 - timedelta(days=1)),
        "updated": jira_time(T0 + timedelta(days=draw(st.integers(0, 40)))),
        "resolution": {"name": resolution} if resolution else None,
        FIELDS.flagged: draw(st.sampled_from([None, [{"value": "Impediment"}]])),
    }
    return {"id": str(number), "key": f"PAY-{number}", "fields": fields}, histories


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 10**6), min_size=1, max_size=30, unique=True).flatmap(
        lambda numbers: st.tuples(*(issues(n) for n in numbers))
    )
)
def test_an_issue_maps_the_same_in_a_long_sync_as_alone(batch) -> None:
    shared = context()
    together = [to_item_history(issue, histories, shared) for issue, histories in batch]
    alone = [to_item_history(issue, histories, context()) for issue, histories in batch]
    assert together == alone
    assert together == [to_item_history(i, h, shared) for i, h in batch]  # and again, warm


def test_an_unreadable_updated_is_none_or_malformed_whatever_its_type() -> None:
    text = jira_time(T0)
    assert issue_updated({"fields": {"updated": text}}) == T0
    assert issue_updated({"fields": {"updated": text}}) == T0  # remembered, same instant
    assert issue_updated({"fields": {"updated": 1_793_786_400_000}}) == datetime(
        2026, 11, 4, 10, tzinfo=UTC
    )
    for bad in (["a list"], {"an": "object"}, "2026-11-02T09:00:00", True):
        assert issue_updated({"fields": {"updated": bad}}) is None
        payload = {"key": "PAY-1", "fields": {"status": {"name": "Done"}, "updated": bad}}
        payload["fields"]["created"] = text
        with pytest.raises(MalformedIssue):
            to_item_history(payload, [], context())
