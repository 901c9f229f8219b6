"""Unverified deployment: production shipped a commit that no successful pipeline run had built.

A traceability gap (off unless ``agreements.traceability`` lists ``unverified_deployment``): a
successful production deployment in the last week whose commit (``sha``) no pipeline run had
built successfully before the deployment started (before it finished, when its start is unknown).

Unknown is not evidence: a deployment without a commit is not judged, and neither is any
deployment while the team has no pipeline run with a known commit (a source that does not report
one, or runs stored before commits were).
"""

from __future__ import annotations

from datetime import datetime

from insights.detectors.support.context import PR_LOOKBACK_DAYS, DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import dedupe_key
from insights.findings import Finding, Severity
from insights.model import Deployment, Outcome

NAME = "unverified_deployment"
SHORT_SHA = 7
"""Characters of a commit shown in a subject or title, as the vendors show it."""


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for production deployments of the last week that shipped an unbuilt commit."""
    if NAME not in ctx.agreements.traceability or not _any_run_knows_its_commit(ctx):
        return []
    built = _first_successful_builds(ctx)
    since, candidates = ctx.days_ago(PR_LOOKBACK_DAYS), []
    for deployment in ctx.snapshot.deployments:
        sha = deployment.sha
        if sha is None or not deployment.is_production_success:
            continue
        if not since <= deployment.finished_at <= ctx.now:
            continue
        first_built = built.get(sha)
        if first_built is None or first_built > _began(deployment):
            recency = deployment.finished_at.timestamp()
            payload = (deployment, first_built)
            candidates.append((Candidate.of(Severity.WARN, recency, _subject(deployment)), payload))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(
            n, f"went to production without a passing pipeline in the last {PR_LOOKBACK_DAYS} days"
        ),
        "Make production deployments wait for a passing pipeline on the same commit.",
    )


def _first_successful_builds(ctx: DetectionContext) -> dict[str, datetime]:
    """Per commit, when the first successful run of it finished (by now)."""
    built: dict[str, datetime] = {}
    for run in ctx.snapshot.pipeline_runs:
        finished = run.finished_at
        if run.sha is None or run.outcome is not Outcome.SUCCESS or finished is None:
            continue
        if finished <= ctx.now and (run.sha not in built or finished < built[run.sha]):
            built[run.sha] = finished
    return built


def _any_run_knows_its_commit(ctx: DetectionContext) -> bool:
    return any(run.sha is not None for run in ctx.snapshot.pipeline_runs)


def _began(deployment: Deployment) -> datetime:
    """When the deployment started, or finished when its start is unknown."""
    return deployment.started_at or deployment.finished_at


def _subject(deployment: Deployment) -> str:
    """``acme/api@c101000``: the repository (or environment) and the short commit."""
    return f"{deployment.repo or deployment.environment}@{(deployment.sha or '')[:SHORT_SHA]}"


def _finding(ctx: DetectionContext, deployment: Deployment, built: datetime | None) -> Finding:
    subject = _subject(deployment)
    shipped = tuple(
        ctx.items_by_ref[item_id].key
        for item_id in deployment.shipped_item_ids
        if item_id in ctx.items_by_ref
    )
    return Finding(
        detector=NAME,
        severity=Severity.WARN,
        subject=subject,
        title=(
            f"{subject} went to {deployment.environment} before any pipeline had passed on it"
            if built is not None
            else f"{subject} went to {deployment.environment} without a passing "
            "pipeline on that commit"
        ),
        action=(
            "Run the pipeline on that commit now and check it passes, and make production "
            "deployments wait for a passing pipeline."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, deployment.id),
        evidence={
            "deployment_id": deployment.id,
            "sha": deployment.sha or "",
            "environment": deployment.environment,
            "deployed_at": _began(deployment).isoformat(),
            "first_passed_at": built.isoformat() if built is not None else "",
            "window_days": PR_LOOKBACK_DAYS,
        },
        item_keys=(subject, *shipped),
        url=deployment.url,
    )
