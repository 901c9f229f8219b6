"""GitLab lists read by ``updated_after``, newest update first, resumable at the next offset page.

Merge requests and pipelines offer only offset pages (no keyset), so a sweep lists
``?updated_after=<mark>&order_by=updated_at&sort=desc`` page by page. Newest first keeps offset
paging safe: a record updated mid-sweep jumps to the top, before the pages still to read, so
nothing is skipped (at worst one record is read twice). The mark moves to the newest update once
the sweep completes; an interrupted sweep resumes at its next page number. A record whose
``updated_at`` equals the mark was stored last time and is left out, whether ``updated_after``
includes it (merge requests: "on or after") or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations._records import MALFORMED
from integrations._rest import RestApi
from integrations._times import format_precise, parse_precise


@dataclass(frozen=True)
class UpdatedSweep:
    """One GitLab list (``path`` with ``params``) read newest update first."""

    api: RestApi
    path: str
    params: Mapping[str, Any]
    page_size: int

    def changed(self, state: dict[str, Any], floor: datetime | None = None) -> Iterator[list[Any]]:
        """Each page's records updated after ``state['mark']`` (or ``floor`` without a mark).

        ``state`` (``mark``, ``sweep``) is advanced past each page before the page is yielded. A
        record whose ``updated_at`` cannot be read is yielded too, for its mapper to reject.
        """
        after = state.get("mark") or _text(floor)
        sweep = state.get("sweep") or {"page": 1, "after": after, "top": None}
        top = parse_precise(sweep.get("top"))
        seen = parse_precise(sweep.get("after"))
        while True:
            response = self.api.get(self.path, self._query(sweep))
            raws = self.api.decode(response, self.path)
            updates = [_updated(raw) for raw in raws]
            top = _newest([top, *updates])
            changed = [
                raw
                for raw, at in zip(raws, updates, strict=True)
                if at is None or seen is None or at > seen
            ]
            following = next_page(response)
            if following is None:
                state.pop("sweep", None)
                if top is not None:
                    state["mark"] = format_precise(top)
            else:
                sweep = state["sweep"] = {**sweep, "page": following, "top": _text(top)}
            yield changed
            if following is None:
                return

    def _query(self, sweep: dict[str, Any]) -> dict[str, Any]:
        query = {
            **self.params,
            "order_by": "updated_at",
            "sort": "desc",
            "per_page": self.page_size,
            "page": sweep["page"],
        }
        if sweep.get("after"):
            query["updated_after"] = sweep["after"]
        return query


def next_page(response: Any) -> int | None:
    """The next page number from ``X-Next-Page`` (empty on the last page) or the Link header."""
    header = response.headers.get("X-Next-Page")
    if header is not None:
        return int(header) if header.strip() else None
    link = response.links.get("next", {}).get("url")
    match = re.search(r"[?&]page=(\d+)", link or "")
    return int(match.group(1)) if match else None


def _updated(raw: Any) -> datetime | None:
    try:
        return parse_precise(raw["updated_at"])
    except MALFORMED:
        return None


def _newest(instants: list[datetime | None]) -> datetime | None:
    return max((at for at in instants if at is not None), default=None)


def _text(at: datetime | None) -> str | None:
    return None if at is None else format_precise(at)
