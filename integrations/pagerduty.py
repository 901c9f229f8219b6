"""The PagerDuty source: incidents of the configured services, with acknowledge and resolve times.

``GET /incidents?service_ids[]=...&since=...&until=...`` lists incidents by creation time, oldest
first (``sort_by=created_at:asc``), 100 at a time with ``offset``/``more`` paging. The range is cut
into 30-day windows (PagerDuty caps a range, and an offset at 10,000). When an incident was
acknowledged or resolved, its overview log entries (``/incidents/{id}/log_entries``) give the
times. Auth is ``Authorization: Token token=...``. PagerDuty's ``ratelimit-reset`` header counts the
seconds to wait (not a Unix time): the client pauses that long when ``ratelimit-remaining`` reaches
0, and after a 429.

Incremental: the cursor keeps the newest creation time read (``mark``) and the incidents still open
(id -> created). A sync lists from the older of the two, yields the new incidents and the open
ones (to catch their acknowledgement and resolution), and skips the rest. Pages come in creation
order, so the cursor can move after each one. PagerDuty links no deployment: attributing an
incident to one is the core's job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from insights.model import Incident, Page, make_id
from integrations._cursor import dump_state, load_state
from integrations._records import MALFORMED, describe, map_each
from integrations._rest import RestApi
from integrations._settings import check_url
from integrations._times import format_time, parse_time, require_time
from integrations.base import SourceConfig, SourceContext
from integrations.http import HttpClient

SOURCE_TYPE = "pagerduty"
WINDOW = timedelta(days=30)
PAGE_SIZE = 100


class Config(SourceConfig):
    """The ``type: pagerduty`` section of app.yaml."""

    type: Literal["pagerduty"] = "pagerduty"
    token: SecretStr
    services: tuple[str, ...] = Field(min_length=1)
    api_url: str = "https://api.pagerduty.com"
    history_days: int = Field(default=180, ge=1)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


def incident_times(entries: list[dict[str, Any]]) -> tuple[datetime | None, datetime | None]:
    """(first acknowledgement, resolution) from an incident's log entries."""
    acknowledged = resolved = None
    for entry in entries:
        at = require_time(entry["created_at"], "log entry created_at")
        kind = entry["type"]
        if kind == "acknowledge_log_entry" and (acknowledged is None or at < acknowledged):
            acknowledged = at
        elif kind == "resolve_log_entry" and (resolved is None or at > resolved):
            resolved = at
    return acknowledged, resolved


class PagerDutySource:
    """The PagerDuty source of one team."""

    kind: ClassVar[str] = "pagerduty"

    def __init__(self, config: Config, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx
        self.name = config.display_name()
        self.api = RestApi(
            HttpClient(
                source_name=self.name,
                base_url=config.api_url,
                headers={
                    "Authorization": f"Token token={config.token.get_secret_value()}",
                    "Accept": "application/vnd.pagerduty+json;version=2",
                },
                timeout=config.timeout,
                reset_counts_seconds=True,
                sleep=ctx.sleep,
                clock=lambda: ctx.now().timestamp(),
            )
        )

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Pages of new and still-open incidents, oldest first."""
        state = load_state(cursor, self.name)
        now = self.ctx.now()
        mark = parse_time(state.get("mark"))
        open_ids: dict[str, str] = state.setdefault("open", {})
        starts = [mark or now - timedelta(days=self.config.history_days)]
        starts += [require_time(created, "open incident") for created in open_ids.values()]
        since = min(starts)
        newest = mark
        while since < now:
            until = min(since + WINDOW, now)
            for raws in self._windows(since, until):
                wanted = [r for r in raws if self._wanted(r, mark, open_ids)]
                mapped = map_each(
                    self.name, "incident", wanted, self._incident, lambda r: describe(r, "id")
                )
                for incident in mapped.records:
                    open_ids.pop(incident.id.rsplit(":", 1)[1], None)
                    if incident.resolved_at is None:
                        open_ids[incident.id.rsplit(":", 1)[1]] = format_time(incident.created_at)
                    if newest is None or incident.created_at > newest:
                        newest = incident.created_at
                        state["mark"] = format_time(newest)
                yield dataclasses.replace(
                    Page(incidents=mapped.records, skipped=mapped.skipped), cursor=dump_state(state)
                )
            since = until

    def _windows(self, since: datetime, until: datetime) -> Iterator[list[Any]]:
        """The incidents created in ``[since, until)``, a page at a time."""
        offset = 0
        while True:
            body = self.api.get_json(
                "incidents",
                {
                    "service_ids[]": list(self.config.services),
                    "since": format_time(since),
                    "until": format_time(until),
                    "sort_by": "created_at:asc",
                    "time_zone": "UTC",
                    "limit": PAGE_SIZE,
                    "offset": offset,
                    "total": "false",
                },
            )
            incidents = body["incidents"]
            yield incidents
            if not body.get("more") or not incidents:
                return
            offset += len(incidents)

    def _wanted(self, raw: Any, mark: datetime | None, open_ids: dict[str, str]) -> bool:
        """New since the mark, still open last time, or malformed (to be counted)."""
        try:
            created = require_time(raw["created_at"], "created_at")
            known_open = raw["id"] in open_ids
        except MALFORMED:
            return True
        return mark is None or created >= mark or known_open

    def _incident(self, raw: dict[str, Any]) -> Incident:
        native = str(raw["id"])
        acknowledged = resolved = None
        if raw["status"] != "triggered":
            entries = self._log_entries(native)
            acknowledged, resolved = incident_times(entries)
        if raw["status"] != "resolved":
            resolved = None
        elif resolved is None:  # no resolve entry in the overview: the incident's own fields
            resolved = parse_time(raw.get("resolved_at")) or require_time(
                raw["last_status_change_at"], "last_status_change_at"
            )
        return Incident(
            id=make_id("pagerduty", "incident", native),
            team=self.ctx.team,
            source="pagerduty",
            title=str(raw.get("title") or raw["summary"]),
            created_at=require_time(raw["created_at"], "created_at"),
            acknowledged_at=acknowledged,
            resolved_at=resolved,
            urgency=raw.get("urgency"),
            url=raw.get("html_url"),
        )

    def _log_entries(self, incident_id: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self.api.get_json(
                f"incidents/{incident_id}/log_entries",
                {"is_overview": "true", "time_zone": "UTC", "limit": PAGE_SIZE, "offset": offset},
            )
            entries += body["log_entries"]
            if not body.get("more") or not body["log_entries"]:
                return entries
            offset += len(body["log_entries"])

    def dry_run(self) -> dict[str, int]:
        """Count the incidents of the last ``history_days`` (``total=true``), storing nothing."""
        now = self.ctx.now()
        since, total = now - timedelta(days=self.config.history_days), 0
        while since < now:
            until = min(since + WINDOW, now)
            body = self.api.get_json(
                "incidents",
                {
                    "service_ids[]": list(self.config.services),
                    "since": format_time(since),
                    "until": format_time(until),
                    "limit": 1,
                    "total": "true",
                },
            )
            total += int(body.get("total") or 0)
            since = until
        return {"incidents": total}


def build(config: Config, ctx: SourceContext) -> PagerDutySource:
    """Build the PagerDuty source from its app.yaml section."""
    return PagerDutySource(config, ctx)
