"""Scope at risk: a tracked epic or label unlikely to be done by its target date (issue 18).

For each scope the team tracks with a target date (``scopes:`` in app.yaml) and items left, the
chance to be done by the target and the 85 % date come from :mod:`insights.scopes`. The rules:

- **At risk**: the chance is below ``agreements.scope_confidence``: a finding.
- **Slipped**: the 85 % date is later than a baseline by more than ``agreements.scope_slip_days``
  and later than the target: a finding, whatever the chance. The baseline is the 85 % date the
  scope's card shows (its ``date_p85`` evidence); with no card, the 85 % date as of
  ``RECENT_DAYS`` ago (worked out only when it decides: a scope at risk gets its card anyway).
- **Hysteresis**: a card already shown stays while the 85 % date is later than the target, even
  when the chance is back above the agreement. It clears only when the scope is done or its 85 %
  date is back on or before the target.
- **Stable card**: while a card is shown and its 85 % date has not moved later by more than
  ``scope_slip_days``, nor the severity changed, nor the state (``at_risk`` or ``slipping``), the
  finding is the card's own, unchanged, so the card is neither edited nor announced again. Any of
  those changes gives the fresh finding, and the card is updated in place.

The cards shown come in as ``DetectionContext.shown`` (the bot's live sweep passes them), so the
detector stays pure: without them (a report, a backtest) every finding is fresh.

A fresh finding's title names the chance, the 85 % date (and the slip, from which date and by how
many days, when it slipped) and the reasons in numbers (items added in the last 7 days; the
team's throughput last week against the weeks before, when it fell). Its action names the levers,
each the smallest that works on the same simulated days: the fewest items to cut, +10/20/30 %
throughput, freezing the scope. At risk, they bring the chance back to the agreement; merely
slipping (the chance is above it), they bring the 85 % date back on or before the target (an
85 % chance). Evidence: ``state`` (``at_risk`` or ``slipping``) and ``slipped_days`` when it
slipped, with the numbers behind the title. At risk is critical below half the agreement, else a
warning; slipping is a warning.

One finding per scope (the dedupe key names the scope), so its card updates in place. The subject
is the team: a scope is no single item (team findings are not merged, so a card's finding is this
detector's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import plural
from insights.findings import Finding, Severity
from insights.forecast import HORIZON_DAYS
from insights.scopes import AT_RISK, Levers, ScopeModel, ScopeRef, at_risk_key, scope_model

NAME = AT_RISK
RECENT_DAYS = 7
"""The reasons look at the last week (items added, throughput); so does a slip with no card."""
FACTORS = (1.1, 1.2, 1.3)
"""The throughput levers tried, smallest first."""
LIKELY = 85
"""The confidence of the date a slip is measured on, in percent."""
AT_RISK_STATE = "at_risk"
SLIPPING_STATE = "slipping"


@dataclass(frozen=True)
class _Reading:
    """What one sweep reads of a scope with a target and items left."""

    model: ScopeModel
    target: date
    chance: float
    likely: date | None
    """The 85 % date; None when not within the horizon."""
    baseline: date | None
    """The 85 % date a slip is measured from; None when there is none."""

    @property
    def slipped_days(self) -> int:
        """Days the 85 % date moved later than the baseline (0 without one)."""
        if self.baseline is None:
            return 0
        latest = self.likely or self.model.today + timedelta(days=HORIZON_DAYS)
        return (latest - self.baseline).days

    @property
    def late(self) -> bool:
        """The 85 % date is later than the target."""
        return _late(self.likely, self.target)


def detect(ctx: DetectionContext) -> list[Finding]:
    """A finding per tracked scope with a target that is at risk or slipped (module docstring)."""
    findings = []
    for ref in ctx.scopes:
        if ref.target is None:
            continue
        finding = _watch(ctx, ref, ref.target)
        if finding is not None:
            findings.append(finding)
    return findings


def _watch(ctx: DetectionContext, ref: ScopeRef, target: date) -> Finding | None:
    """The finding on ``ref`` this sweep: none, the card's own unchanged, or a fresh one."""
    model = scope_model(ctx.snapshot, ref, ctx.now, ctx.tz)
    chance = model.probability(Levers())
    if chance is None or model.remaining == 0:
        return None
    likely = model.forecast().dates[LIKELY]
    shown = ctx.shown.get(at_risk_key(ctx.team, ref))
    at_risk = chance < ctx.agreements.scope_confidence
    baseline = None
    if shown is not None:
        baseline = _shown_date(shown)
    elif _late(likely, target) and not at_risk:
        baseline = _likely_date_before(ctx, ref)
    reading = _Reading(model, target, chance, likely, baseline)
    slip_days = ctx.agreements.scope_slip_days
    slipped = reading.late and reading.slipped_days > slip_days
    if not (at_risk or slipped or (shown is not None and reading.late)):
        return None
    state = AT_RISK_STATE if at_risk else SLIPPING_STATE
    severity = _severity(chance, ctx.agreements.scope_confidence, at_risk)
    unchanged = (
        shown is not None
        and reading.slipped_days <= slip_days
        and shown.severity is severity
        and shown.evidence.get("state") == state
    )
    if unchanged:
        return shown
    return _finding(ctx, reading, state, severity, slipped)


def _late(likely: date | None, target: date) -> bool:
    """Whether the 85 % date ``likely`` is later than ``target`` (None: beyond the horizon)."""
    return likely is None or likely > target


def _shown_date(shown: Finding) -> date | None:
    """The 85 % date a card shows (None when it showed none within the horizon)."""
    value = shown.evidence.get("date_p85")
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _likely_date_before(ctx: DetectionContext, ref: ScopeRef) -> date | None:
    """The scope's 85 % date as of ``RECENT_DAYS`` ago (None when it had nothing left then)."""
    past = scope_model(ctx.snapshot, ref, ctx.days_ago(RECENT_DAYS), ctx.tz)
    return past.forecast().dates[LIKELY] if past.remaining else None


def _severity(chance: float, threshold: float, at_risk: bool) -> Severity:
    """Critical below half the agreement, else a warning."""
    return Severity.CRITICAL if at_risk and chance < threshold / 2 else Severity.WARN


def _finding(
    ctx: DetectionContext, reading: _Reading, state: str, severity: Severity, slipped: bool
) -> Finding:
    model, chance, target, likely = reading.model, reading.chance, reading.target, reading.likely
    added = model.added_since(model.today - timedelta(days=RECENT_DAYS))
    recent, earlier = _weekly_throughput(model.throughput)
    reasons = []
    if added:
        reasons.append(f"the scope grew by {plural(added, 'item')} in the last {RECENT_DAYS} days")
    if earlier is not None and recent < earlier:
        reasons.append(f"throughput fell from {earlier:g} to {recent} a week")
    if model.too_short:
        reasons.append(model.too_short)
    title = _headline(reading, slipped) + (f"; {', '.join(reasons)}" if reasons else "")
    evidence: dict[str, float | int | str] = {
        "probability": round(chance, 3),
        "confidence": ctx.agreements.scope_confidence,
        "target": target.isoformat(),
        "date_p85": likely.isoformat() if likely else "",
        "remaining_items": model.remaining,
        "total_items": model.total,
        "added_items_7d": added,
        "throughput_last_week": recent,
    }
    if earlier is not None:
        evidence["throughput_weekly_before"] = earlier
    evidence["state"] = state
    if slipped:
        evidence["slipped_days"] = reading.slipped_days
    return Finding(
        detector=NAME,
        severity=severity,
        subject="team",
        title=title,
        action=_action(ctx, model, state),
        dedupe_key=at_risk_key(ctx.team, model.ref),
        evidence=evidence,
        item_keys=model.open_keys,
    )


def _headline(reading: _Reading, slipped: bool) -> str:
    """The title before its reasons: the chance and the 85 % date, or the slip first."""
    model, target, chance = reading.model, reading.target.isoformat(), reading.chance
    likely = reading.likely.isoformat() if reading.likely else "not within 10 years"
    left = plural(model.remaining, "item")
    if slipped and reading.baseline is not None:
        return (
            f"{model.ref.name}: the 85% date slipped {plural(reading.slipped_days, 'day')} to "
            f"{likely} (since {reading.baseline.isoformat()}), past the target {target}; "
            f"{chance:.0%} chance to make it, {left} left"
        )
    return (
        f"{model.ref.name}: {chance:.0%} chance to be done by {target} (85% date: {likely}), "
        f"{left} left"
    )


def _action(ctx: DetectionContext, model: ScopeModel, state: str) -> str:
    """The levers that bring the chance to the agreement (at risk) or the 85 % date back."""
    if state == AT_RISK_STATE:
        threshold = ctx.agreements.scope_confidence
        goal, lacking = f"get back above {threshold:.0%}", f"brings it back above {threshold:.0%}"
    else:
        threshold = LIKELY / 100
        goal = "bring the 85% date back to the target"
        lacking = "brings the 85% date back to the target"
    levers = _levers(model, threshold)
    if levers:
        return f"To {goal}: " + ", or ".join(levers) + "."
    return f"No single lever {lacking}: move the date or re-plan."


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
