"""``scope_at_risk``: a tracked scope unlikely to make its date, why in numbers, and the levers."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, timedelta

from detector_fixtures import NOW, TEAM, SnapshotBuilder, ago
from test_scopes import epic, steady, team

from insights.agreements import Agreements
from insights.detectors import DetectionContext, run_detectors, scope_at_risk
from insights.findings import Severity
from insights.model import Snapshot
from insights.scopes import Levers, ScopeRef, scope_model

TODAY = NOW.date()
AT = ScopeRef("epic", "PAY-100", TODAY + timedelta(days=24), "Card vaulting")


def slipping() -> Snapshot:
    """Throughput 2 a day fell to 1 a day last week; 20 planned items, 2 added a day lately."""
    builder = SnapshotBuilder()
    team(builder, [2] * 53 + [1] * 7)
    return epic(builder, {30: 20, **dict.fromkeys(range(1, 8), 2)})


def detect(snapshot: Snapshot, *scopes: ScopeRef, agreements: Agreements | None = None, now=NOW):
    ctx = DetectionContext(snapshot, agreements or Agreements(), now, UTC, scopes=scopes)
    return scope_at_risk.detect(ctx)


def test_a_scope_unlikely_to_make_its_date_is_reported_with_the_reasons_in_numbers() -> None:
    [finding] = detect(slipping(), AT)

    model = scope_model(slipping(), AT, NOW, UTC)
    chance = model.probability(Levers())
    assert chance is not None and chance < 0.7
    assert finding.title.startswith(f"Card vaulting: {chance:.0%} chance to be done by ")
    assert "85% date: " in finding.title and "34 items left" in finding.title
    assert "the scope grew by 12 items in the last 7 days" in finding.title
    assert "throughput fell from 14 to 7 a week" in finding.title
    assert finding.dedupe_key == f"scope_at_risk:{TEAM}:epic:PAY-100"
    assert finding.subject == "team" and len(finding.item_keys) == 34
    assert finding.evidence["added_items_7d"] == 12
    assert finding.evidence["throughput_last_week"] == 7
    assert finding.evidence["throughput_weekly_before"] == 14


def test_the_levers_named_are_the_smallest_that_bring_it_back() -> None:
    [finding] = detect(slipping(), AT)
    model = scope_model(slipping(), AT, NOW, UTC)

    cut = int(re.search(r"cut (\d+) items", finding.action).group(1))  # type: ignore[union-attr]
    assert model.probability(Levers(cut=cut)) >= 0.7  # type: ignore[operator]
    assert model.probability(Levers(cut=cut - 1)) < 0.7  # type: ignore[operator]
    named = re.search(r"raise throughput by (\d+)%", finding.action)
    for factor in (1.1, 1.2, 1.3):
        works = model.probability(Levers(throughput_factor=factor)) >= 0.7  # type: ignore[operator]
        if named and round((factor - 1) * 100) == int(named.group(1)):
            assert works
            break
        assert not works
    frozen_works = model.probability(Levers(freeze_scope=True)) >= 0.7  # type: ignore[operator]
    assert ("freeze the scope" in finding.action) == frozen_works


def test_no_single_lever_says_so() -> None:
    far_behind = replace(AT, target=TODAY + timedelta(days=1))
    [finding] = detect(steady({40: 10, **dict.fromkeys(range(1, 40), 2)}), far_behind)

    assert finding.action.startswith("No single lever brings it back above 70%")
    assert finding.severity is Severity.CRITICAL


def test_a_scope_on_track_or_without_a_target_is_quiet() -> None:
    on_track = replace(AT, target=TODAY + timedelta(days=30))
    assert detect(steady({30: 20}), on_track) == []
    assert detect(slipping(), replace(AT, target=None)) == []
    assert detect(slipping()) == []


def test_the_team_agreement_sets_the_threshold() -> None:
    chance = scope_model(slipping(), AT, NOW, UTC).probability(Levers())
    assert chance is not None and chance > 0
    assert detect(slipping(), AT, agreements=Agreements(scope_confidence=chance / 2)) == []
    assert detect(slipping(), AT, agreements=Agreements(scope_confidence=0.99))


def test_it_fires_once_per_slip_not_on_every_sweep() -> None:
    snapshot = slipping()
    first = detect(snapshot, AT)
    later = detect(snapshot, AT, now=NOW + timedelta(hours=1))
    assert [(f.dedupe_key, f.title) for f in first] == [(f.dedupe_key, f.title) for f in later]

    builder = SnapshotBuilder()
    team(builder, [2] * 53 + [1] * 7)
    grown = epic(builder, {30: 20, **dict.fromkeys(range(1, 8), 2), 0: 10})
    [slipped] = detect(grown, AT, now=NOW + timedelta(hours=1))
    assert slipped.dedupe_key == first[0].dedupe_key
    assert _p85(slipped.title) > _p85(first[0].title)


def _p85(title: str) -> str:
    return re.search(r"85% date: (\S+)\)", title).group(1)  # type: ignore[union-attr]


def test_run_detectors_passes_the_team_scopes() -> None:
    found = run_detectors(slipping(), Agreements(), NOW, UTC, scopes=(AT,))
    assert [f.detector for f in found if f.detector == "scope_at_risk"] == ["scope_at_risk"]
    assert not [
        f
        for f in run_detectors(slipping(), Agreements(), NOW, UTC)
        if f.detector == "scope_at_risk"
    ]


def test_a_label_scope_is_watched_too() -> None:
    builder = SnapshotBuilder()
    team(builder, [1] * 60)
    builder.issue("R1", created=ago(20))
    builder.issue("R2", created=ago(20))
    labelled = [
        replace(i, labels=("release-2.3",)) if i.key.startswith("R") else i for i in builder.items
    ]
    builder.items[:] = labelled
    release = ScopeRef("label", "release-2.3", TODAY, "Release 2.3")
    [finding] = detect(builder.build(), release)
    assert finding.dedupe_key == f"scope_at_risk:{TEAM}:label:release-2.3"
    assert finding.title.startswith("Release 2.3: 0% chance")
