"""Scope at risk: a tracked epic or label is unlikely to be done by its target date (issue 18).

For each scope the team tracks with a target date (``scopes:`` in app.yaml), the chance to be done
by the target (:mod:`insights.scopes`) below ``agreements.scope_confidence`` is a finding. Its title
names the chance, the 85 % date and the reasons in numbers (items added to the scope in the last 7
days; the team's throughput last week against the weeks before, when it fell); its action names
the levers that bring the chance back above the agreement, each the smallest that works on the
same simulated days: the fewest items to cut, +10/20/30 % throughput, freezing the scope.

One finding per scope (the dedupe key names the scope), so its card updates in place; the title
carries the 85 % date, so the card changes when the date slips and not on every sweep. The subject
is the team: a scope is no single item.
"""

from __future__ import annotations

from datetime import date, timedelta

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import plural
from insights.findings import Finding, Severity
from insights.scopes import AT_RISK, Levers, ScopeModel, at_risk_key, scope_model

NAME = AT_RISK
RECENT_DAYS = 7
"""The reasons look at the last week: items added, throughput."""
FACTORS = (1.1, 1.2, 1.3)
"""The throughput levers tried, smallest first."""


def detect(ctx: DetectionContext) -> list[Finding]:
    """A finding per tracked scope with a target whose chance is below the team's agreement."""
    findings = []
    for ref in ctx.scopes:
        if ref.target is None:
            continue
        model = scope_model(ctx.snapshot, ref, ctx.now, ctx.tz)
        chance = model.probability(Levers())
        if chance is None or model.remaining == 0 or chance >= ctx.agreements.scope_confidence:
            continue
        findings.append(_finding(ctx, model, chance, ref.target))
    return findings


def _finding(ctx: DetectionContext, model: ScopeModel, chance: float, target: date) -> Finding:
    ref, threshold = model.ref, ctx.agreements.scope_confidence
    likely = model.forecast().dates[85]
    added = model.added_since(model.today - timedelta(days=RECENT_DAYS))
    recent, earlier = _weekly_throughput(model.throughput)
    reasons = []
    if added:
        reasons.append(f"the scope grew by {plural(added, 'item')} in the last {RECENT_DAYS} days")
    if earlier is not None and recent < earlier:
        reasons.append(f"throughput fell from {earlier:g} to {recent} a week")
    if model.too_short:
        reasons.append(model.too_short)
    title = (
        f"{ref.name}: {chance:.0%} chance to be done by {target.isoformat()} "
        f"(85% date: {likely.isoformat() if likely else 'not within 10 years'}), "
        f"{plural(model.remaining, 'item')} left" + (f"; {', '.join(reasons)}" if reasons else "")
    )
    levers = _levers(model, threshold)
    action = (
        f"To get back above {threshold:.0%}: " + ", or ".join(levers) + "."
        if levers
        else f"No single lever brings it back above {threshold:.0%}: move the date or re-plan."
    )
    evidence: dict[str, float | int | str] = {
        "probability": round(chance, 3),
        "confidence": threshold,
        "target": target.isoformat(),
        "date_p85": likely.isoformat() if likely else "",
        "remaining_items": model.remaining,
        "total_items": model.total,
        "added_items_7d": added,
        "throughput_last_week": recent,
    }
    if earlier is not None:
        evidence["throughput_weekly_before"] = earlier
    return Finding(
        detector=NAME,
        severity=Severity.CRITICAL if chance < threshold / 2 else Severity.WARN,
        subject="team",
        title=title,
        action=action,
        dedupe_key=at_risk_key(ctx.team, ref),
        evidence=evidence,
        item_keys=model.open_keys,
    )


def _levers(model: ScopeModel, threshold: float) -> list[str]:
    """Each lever that alone brings the chance to ``threshold``, the smallest of each kind."""
    found = []
    cut = model.cut_needed(threshold)
    if cut is not None and 0 < cut < model.remaining:
        found.append(f"cut {plural(cut, 'item')}")
    for factor in FACTORS:
        chance = model.probability(Levers(throughput_factor=factor))
        if chance is not None and chance >= threshold:
            found.append(f"raise throughput by {factor - 1:.0%}")
            break
    frozen = model.probability(Levers(freeze_scope=True))
    if model.growth_per_week and frozen is not None and frozen >= threshold:
        found.append("freeze the scope")
    return found


def _weekly_throughput(samples: list[int]) -> tuple[int, float | None]:
    """Items finished in the last week, and per week on average before it (None: no weeks)."""
    recent = sum(samples[-RECENT_DAYS:])
    before = samples[:-RECENT_DAYS]
    if len(before) < RECENT_DAYS:
        return recent, None
    return recent, round(RECENT_DAYS * sum(before) / len(before), 1)
