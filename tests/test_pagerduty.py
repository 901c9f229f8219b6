"""The PagerDuty source against the fake PagerDuty: incidents, windows, paging, open incidents."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, parse_config
from insights.model import Incident, Page
from insights.workflow import Workflow
from integrations.base import SourceContext, SourceError
from integrations.pagerduty import Config, PagerDutySource, build
from tests.fake_github import load_fixture
from tests.fake_pagerduty import FakePagerDuty

NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def fake():
    with FakePagerDuty() as server:
        server.load(load_fixture("pagerduty/incidents.json"))
        yield server


class Harness:
    def __init__(self, fake: FakePagerDuty, clock: list[datetime] | None = None, **options):
        self.sleeps: list[float] = []
        self.clock = clock or [NOW]
        config = Config(token=fake.token, api_url=fake.url, services=["PSVC001"], **options)
        ctx = SourceContext("payments", Workflow({}), lambda: self.clock[0], self.sleep, ("PAY",))
        self.source: PagerDutySource = build(config, ctx)

    def sleep(self, seconds: float) -> None:
        """Record the wait and let that much time pass."""
        self.sleeps.append(seconds)
        self.clock[0] += timedelta(seconds=seconds)

    def pull(self, cursor: str | None = None) -> list[Page]:
        return list(self.source.pull(cursor))


def incidents(pages: list[Page]) -> dict[str, Incident]:
    return {i.id: i for p in pages for i in p.incidents}


def test_incidents_of_the_configured_services_field_by_field(fake) -> None:
    found = incidents(Harness(fake).pull())

    # P0LD001 is older than history_days (180); POTHER1 belongs to another service.
    assert sorted(found) == [f"pagerduty:incident:{i}" for i in ("PABC002", "PABC003", "PT4KHLK")]
    assert found["pagerduty:incident:PT4KHLK"] == Incident(
        id="pagerduty:incident:PT4KHLK",
        team="payments",
        source="pagerduty",
        title="Elevated 5xx on /payments/authorize",
        created_at=t("2026-11-04T18:30:00Z"),
        acknowledged_at=t("2026-11-04T18:34:00Z"),  # the first of two acknowledgements
        resolved_at=t("2026-11-04T20:00:00Z"),
        urgency="high",
        url="https://acme.pagerduty.com/incidents/PT4KHLK",
    )
    acknowledged = found["pagerduty:incident:PABC002"]
    assert acknowledged.acknowledged_at == t("2026-11-10T02:10:00Z")
    assert acknowledged.resolved_at is None and acknowledged.urgency == "low"
    triggered = found["pagerduty:incident:PABC003"]
    assert triggered.acknowledged_at is None and triggered.resolved_at is None
    assert all(i.deployment_id is None for i in found.values())


def test_requests_use_30_day_windows_and_token_auth(fake) -> None:
    Harness(fake).pull()

    lists = [r for r in fake.requests if r.path == "/incidents"]
    assert len(lists) == 6  # 180 days in 30-day windows
    assert lists[0].arg("since") == "2026-05-29T16:00:00Z"
    assert lists[-1].arg("until") == "2026-11-25T16:00:00Z"
    assert all(r.query["service_ids[]"] == ["PSVC001"] for r in lists)
    assert all(r.arg("sort_by") == "created_at:asc" for r in lists)
    assert fake.count("/log_entries") == 2  # only for the acknowledged and the resolved one
    assert {r.headers["authorization"] for r in fake.requests} == {f"Token token={fake.token}"}
    assert {r.headers["accept"] for r in fake.requests} == {
        "application/vnd.pagerduty+json;version=2"
    }


def test_offset_paging_reads_every_incident(fake) -> None:
    for n in range(250):
        at = (NOW - timedelta(days=2, minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fake.account.incidents.append(
            {
                "id": f"PMANY{n:03d}",
                "title": f"Flap {n}",
                "status": "triggered",
                "urgency": "low",
                "created_at": at,
                "service": {"id": "PSVC001"},
                "html_url": f"https://acme.pagerduty.com/incidents/PMANY{n:03d}",
            }
        )

    found = incidents(Harness(fake).pull())

    assert len(found) == 253
    last_window = [r.arg("offset") for r in fake.requests if r.path == "/incidents"][-3:]
    assert last_window == ["0", "100", "200"]


def test_open_incidents_are_checked_again_until_resolved(fake) -> None:
    harness = Harness(fake)
    cursor = harness.pull()[-1].cursor
    state = json.loads(cursor)
    assert state["mark"] == "2026-11-24T09:00:00Z"
    assert state["open"] == {"PABC002": "2026-11-10T02:00:00Z", "PABC003": "2026-11-24T09:00:00Z"}
    payout = next(i for i in fake.account.incidents if i["id"] == "PABC002")
    payout.update(status="resolved", last_status_change_at="2026-11-25T10:00:00Z")
    fake.account.log_entries["PABC002"].append(
        {"id": "R8", "type": "resolve_log_entry", "created_at": "2026-11-25T10:00:00Z"}
    )
    harness.clock[0] = NOW + timedelta(hours=1)
    fake.reset_log()

    pages = harness.pull(cursor)

    found = incidents(pages)
    assert sorted(found) == ["pagerduty:incident:PABC002", "pagerduty:incident:PABC003"]
    assert found["pagerduty:incident:PABC002"].resolved_at == t("2026-11-25T10:00:00Z")
    lists = [r for r in fake.requests if r.path == "/incidents"]
    assert lists[0].arg("since") == "2026-11-10T02:00:00Z"  # the oldest open incident
    assert json.loads(pages[-1].cursor)["open"] == {"PABC003": "2026-11-24T09:00:00Z"}
    fake.reset_log()
    harness.pull(pages[-1].cursor)
    assert [r.arg("since") for r in fake.requests if r.path == "/incidents"] == [
        "2026-11-24T09:00:00Z"
    ]


def test_malformed_incidents_are_skipped_and_rate_limits_waited_out(fake, caplog) -> None:
    fake.account.incidents.append(
        {"id": "PBROKEN", "status": "triggered", "created_at": "2026-11-20T00:00:00Z",
         "service": {"id": "PSVC001"}}
    )  # fmt: skip
    # PagerDuty's 429 says how long to wait in ratelimit-reset (seconds), with no Retry-After.
    limited = {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "12"}
    fake.fail("^/incidents$", 429, headers=limited)
    fake.fail("/log_entries$", 500)
    caplog.set_level(logging.WARNING)
    harness = Harness(fake)

    pages = harness.pull()

    assert sum(p.skipped for p in pages) == 1 and "PBROKEN" in caplog.text
    assert len(incidents(pages)) == 3
    assert harness.sleeps == [12.0, 1.0]


def test_a_spent_budget_pauses_for_the_reset_seconds_instead_of_hitting_429(fake) -> None:
    fake.rate_limit = 3  # 8 requests: 6 monthly windows and 2 log-entry lists
    harness = Harness(fake)
    fake.clock = lambda: harness.clock[0].timestamp()

    found = incidents(harness.pull())

    assert len(found) == 3
    assert harness.sleeps == [60.0, 60.0]  # after the 3rd and the 6th request
    assert fake.count(status=429) == 0


def test_a_429_waits_the_reset_it_sends(fake) -> None:
    fake.rate_limit = 1
    fake.window_start = 0.0
    fake.clock = lambda: 48.0  # time stands still 12 s before the window ends
    harness = Harness(fake)

    with pytest.raises(SourceError, match="still rate limited"):
        harness.pull()

    assert fake.count(status=429) == 6  # the first try, then max_retries (5) more
    assert harness.sleeps == [12.0] * 6  # the pause after the 1st answer, then each 429


def test_config_and_credentials(fake) -> None:
    team = {"name": "payments"}
    bad = {"type": "pagerduty", "token": "x", "services": [], "api_url": "pagerduty.com"}
    with pytest.raises(ConfigError) as info:
        parse_config({"teams": [{**team, "sources": [bad]}]}, env={})
    problems = "\n".join(info.value.problems)
    assert "sources[0].services" in problems and "sources[0].api_url" in problems

    config = Config(token="pd-wrong-secret", api_url=fake.url, services=["PSVC001"])
    ctx = SourceContext("payments", Workflow({}), lambda: NOW, lambda s: None, ())
    with pytest.raises(SourceError) as error:
        list(build(config, ctx).pull(None))
    assert "HTTP 401" in str(error.value) and "pd-wrong-secret" not in str(error.value)


def test_dry_run_counts_without_storing(fake) -> None:
    assert Harness(fake).source.dry_run() == {"incidents": 3}
