"""The detectors: each module of this package finds one kind of delay or waste.

A detector is a module that defines ``NAME: str`` and ``detect(ctx: DetectionContext) ->
list[Finding]``; it registers itself by existing (pkgutil discovery), so adding a detector is one
module plus its test. What detectors share (the context, ranking, severity, wording and the pull
requests' facts) lives in the :mod:`insights.detectors.support` package, which discovery skips.
:func:`run_detectors` builds one :class:`~insights.detectors.support.context.DetectionContext`,
runs every detector that is not muted, and returns the findings most severe first.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, tzinfo
from functools import cache
from typing import TYPE_CHECKING

from insights.agreements import Agreements
from insights.detectors.support.context import DetectionContext
from insights.findings import Finding
from insights.item_timeline import ItemTimeline
from insights.model import Snapshot

if TYPE_CHECKING:  # insights.value_stream reads pull requests' review facts from this package
    from insights.scopes import ScopeRef
    from insights.value_stream import StreamStep

Detect = Callable[[DetectionContext], list[Finding]]

__all__ = ["Detect", "DetectionContext", "detector_names", "detectors", "run_detectors"]


@cache
def detectors() -> dict[str, Detect]:
    """Every detector of the package by name, discovered once."""
    found: dict[str, Detect] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.ispkg:  # the support package (and any other package) is no detector
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        name, detect = getattr(module, "NAME", None), getattr(module, "detect", None)
        if not isinstance(name, str) or not callable(detect):
            continue
        if name in found:
            raise RuntimeError(f"two detector modules are named {name!r}; rename one of them")
        found[name] = detect
    return found


def detector_names() -> list[str]:
    """The names of every detector, sorted (what ``muted`` and findings' ``detector`` use)."""
    return sorted(detectors())


def run_detectors(
    snapshot: Snapshot,
    agreements: Agreements,
    now: datetime,
    tz: tzinfo,
    *,
    muted: Collection[str] = (),
    timelines: Sequence[ItemTimeline] | None = None,
    steps: Sequence[StreamStep] = (),
    teams_by_project: Mapping[str, str] = {},
    others: Mapping[str, Snapshot] = {},
    scopes: Sequence[ScopeRef] = (),
    shown: Mapping[str, Finding] = {},
) -> list[Finding]:
    """Run every detector not in ``muted`` on ``snapshot`` as of ``now``.

    ``timelines`` may pass the issues' timelines a caller already built (the report does) so they
    are not built twice. ``steps`` are the team's value stream (``TeamConfig.stream_steps()``; ()
    for the default of the snapshot's board order). ``teams_by_project`` (project key to team,
    :func:`insights.trace.project_teams`) and ``others`` (the other configured teams' snapshots by
    name) let a detector see waits on other teams' items (``cross_team_wait``). A muted name that
    no detector has is ignored (mutes are stored; the command that mutes checks names against
    :func:`detector_names`). ``scopes`` are the epics and labels the team tracks
    (``TeamConfig.scope_refs()``; ``scope_at_risk``). ``shown`` are the findings the team's alert
    cards show now by dedupe key (the bot's live sweep passes them; a detector that remembers what
    it said, ``scope_at_risk``, keeps a card unchanged until it has news).
    Findings come most severe first, then by subject and dedupe key.
    """
    ctx = DetectionContext(
        snapshot,
        agreements,
        now,
        tz,
        timelines,
        steps,
        teams_by_project=teams_by_project,
        others=others,
        scopes=scopes,
        shown=shown,
    )
    findings = [
        finding
        for name, detect in detectors().items()
        if name not in muted
        for finding in detect(ctx)
    ]
    return sorted(findings, key=lambda f: (-f.severity.rank, f.subject, f.dedupe_key))
