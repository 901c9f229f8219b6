"""``scope_at_risk``: a tracked scope unlikely to make its date, why in numbers, and the levers."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from detector_fixtures import NOW, TEAM, SnapshotBuilder, ago
from test_scopes import epic, in_scope, steady, team

from insights.agreements import Agreements
from insights.detectors import DetectionContext, run_detectors, scope_at_risk
from insights.findings import Finding, Severity
from insights.model import Snapshot
from insights.scopes import Levers, ScopeRef, scope_model

TODAY = NOW.date()
TARGET = TODAY + timedelta(days=24)
AT = ScopeRef("epic", "PAY-100", TARGET, "Card vaulting")


def slipping() -> Snapshot:
    """Throughput 2 a day fell to 1 a day last week; 20 planned items, 2 added a day lately."""
    builder = SnapshotBuilder()
    team(builder, [2] * 53 + [1] * 7)
    return epic(builder, {30: 20, **dict.fromkeys(range(1, 8), 2)})


def detect(
    snapshot: Snapshot,
    *scopes: ScopeRef,
    agreements: Agreements | None = None,
    now: datetime = NOW,
    shown: Finding | None = None,
) -> list[Finding]:
    """The detector's findings; ``shown`` is the card the team sees now (None: no card)."""
    cards = {} if shown is None else {shown.dedupe_key: shown}
    ctx = DetectionContext(
        snapshot, agreements or Agreements(), now, UTC, scopes=scopes, shown=cards
    )
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
    above = Agreements(scope_confidence=chance / 2, scope_slip_days=365)  # no slip counts
    assert detect(slipping(), AT, agreements=above) == []
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


def _grown(added_today: int) -> Snapshot:
    """:func:`slipping` with ``added_today`` more items added to the epic in the last hour."""
    builder = SnapshotBuilder()
    team(builder, [2] * 53 + [1] * 7)
    return epic(builder, {30: 20, **dict.fromkeys(range(1, 8), 2), 0: added_today})


def _with_p85(card: Finding, likely: date) -> Finding:
    """``card`` as if it had been rendered when the 85 % date was ``likely``."""
    return replace(card, evidence={**card.evidence, "date_p85": likely.isoformat()})


def test_below_the_agreement_the_card_says_at_risk() -> None:
    [finding] = detect(slipping(), AT)
    assert finding.evidence["state"] == "at_risk" and "slipped_days" not in finding.evidence
    assert finding.severity is Severity.WARN


def test_a_shown_card_is_kept_unchanged_while_the_date_moves_less_than_the_agreed_days() -> None:
    [card] = detect(slipping(), AT)
    day_later = NOW + timedelta(days=1)

    [fresh] = detect(slipping(), AT, now=day_later)
    [kept] = detect(slipping(), AT, now=day_later, shown=card)

    assert fresh.title != card.title, "without the card the numbers moved"
    assert float(fresh.evidence["probability"]) < float(card.evidence["probability"]) < 0.7
    moved = date.fromisoformat(str(fresh.evidence["date_p85"])) - date.fromisoformat(
        str(card.evidence["date_p85"])
    )
    assert moved == timedelta(days=1) and fresh.severity is card.severity
    assert (kept.title, kept.action, kept.evidence) == (card.title, card.action, card.evidence)
    assert kept == card


def test_a_slip_of_more_than_the_agreed_days_updates_the_card_naming_the_slip() -> None:
    [now] = detect(slipping(), AT)
    likely = date.fromisoformat(str(now.evidence["date_p85"]))
    earlier = likely - timedelta(days=10)

    [slipped] = detect(slipping(), AT, shown=_with_p85(now, earlier))
    assert slipped.title.startswith(
        f"Card vaulting: the 85% date slipped 10 days to {likely.isoformat()} "
        f"(since {earlier.isoformat()}), past the target {TARGET.isoformat()}; "
        f"{now.evidence['probability']:.0%} chance to make it, 34 items left; "
    )
    assert slipped.evidence["slipped_days"] == 10 and slipped.evidence["state"] == "at_risk"
    assert slipped.evidence["date_p85"] == likely.isoformat(), "the new baseline"
    assert slipped.action == now.action

    exactly = _with_p85(now, likely - timedelta(days=7))
    assert detect(slipping(), AT, shown=exactly) == [exactly], "7 days is not more than 7"


def test_scope_growth_that_slips_the_date_updates_the_card() -> None:
    [card] = detect(slipping(), AT)
    [slipped] = detect(_grown(10), AT, now=NOW + timedelta(hours=1), shown=card)

    assert slipped.title.startswith("Card vaulting: the 85% date slipped 8 days to ")
    assert slipped.evidence["slipped_days"] == 8 and slipped.severity is Severity.CRITICAL
    assert "the scope grew by 22 items in the last 7 days" in slipped.title


def test_a_slip_past_the_target_fires_above_the_agreement_with_no_card() -> None:
    agreements = Agreements(scope_confidence=0.2)
    chance = scope_model(slipping(), AT, NOW, UTC).probability(Levers())
    assert chance is not None and chance >= 0.2
    week_ago = scope_model(slipping(), AT, NOW - timedelta(days=7), UTC).forecast().dates[85]
    assert week_ago is not None

    [finding] = detect(slipping(), AT, agreements=agreements)

    likely = date.fromisoformat(str(finding.evidence["date_p85"]))
    assert likely > TARGET
    days = (likely - week_ago).days
    assert days > 7 and finding.evidence["slipped_days"] == days
    assert f"the 85% date slipped {days} days to {likely} (since {week_ago})" in finding.title
    assert finding.evidence["state"] == "slipping" and finding.severity is Severity.WARN
    assert finding.action.startswith("To bring the 85% date back to the target: ")
    assert detect(slipping(), AT, agreements=replace(agreements, scope_slip_days=days)) == []


def test_a_slip_that_stays_before_the_target_is_quiet() -> None:
    later_target = replace(AT, target=TODAY + timedelta(days=40))
    forecast = scope_model(slipping(), later_target, NOW, UTC).forecast()
    week_ago = scope_model(slipping(), later_target, NOW - timedelta(days=7), UTC).forecast()
    likely, before = forecast.dates[85], week_ago.dates[85]
    assert likely is not None and before is not None and (likely - before).days > 7
    assert likely <= later_target.target  # type: ignore[operator]

    assert detect(slipping(), later_target, agreements=Agreements(scope_confidence=0.2)) == []


def test_a_shown_card_stays_while_the_date_is_past_the_target_and_clears_once_back() -> None:
    [card] = detect(slipping(), AT)
    above = Agreements(scope_confidence=0.5, scope_slip_days=365)  # the chance is 52 %
    assert detect(slipping(), AT, agreements=above) == [], "no card: nothing to keep"

    [kept] = detect(slipping(), AT, agreements=above, shown=card)
    assert kept.dedupe_key == card.dedupe_key and kept.evidence["state"] == "slipping"
    assert kept.title != card.title or kept.action != card.action, "its state changed"

    back = replace(AT, target=date.fromisoformat(str(card.evidence["date_p85"])))
    assert detect(slipping(), back, shown=card) == []


def test_a_done_scope_clears_its_card() -> None:
    [card] = detect(slipping(), AT)
    builder = SnapshotBuilder()
    team(builder, [2] * 60)
    builder.finished("E-1", ago(3), 2)
    done = in_scope(builder.build(), "E", parent_key="PAY-100")
    assert scope_model(done, AT, NOW, UTC).total == 1
    assert detect(done, AT, shown=card) == []


def test_the_slip_days_agreement_is_validated() -> None:
    assert Agreements().scope_slip_days == 7
    with pytest.raises(ValueError, match="scope_slip_days must be at least 1"):
        Agreements(scope_slip_days=0)
