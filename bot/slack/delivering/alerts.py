"""The alert pipeline: one card per subject, posted once, updated in place, resolved, never spam.

:func:`deliver_alerts` compares the findings of a run (one per subject, merged by
:mod:`insights.subjects`: its dedupe key stays while its reasons come and go) with the alerts
already in a channel: a new finding (warn or critical; info waits for the digest) is posted,
grouped in one message with the cards in its thread when there are many; one whose card would
read differently is updated in place, with a thread note when it escalates or a new reason
appears; one that cleared (no reason remains) is marked resolved. A finding that returns within
the cooldown reopens its old message instead of posting a new one. New posts, thread notes and
personal DMs wait for the team's working hours outside its quiet hours; a channel gets at most
``daily_cap`` new alert cards a day, the rest are summarised in one overflow message. Snoozed and
acknowledged alerts stay silent: acknowledging a card acknowledges its subject, whatever reasons
it gains later. The people a card names who turned personal DMs on hear of it when it is posted,
reopened or escalated to critical (:mod:`bot.slack.delivering.personal`). Cards, groups and the
overflow message carry a key as message metadata
(:meth:`~bot.slack.delivering.poster.Poster.post_once`): a post whose answer was lost is looked
for in the channel before it is posted again, also by the next run when the first one gave up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import Engine

from bot.config import AppConfig, TeamConfig
from bot.people import People
from bot.slack.answering.blocks import Message, escape
from bot.slack.answering.render_alerts import (
    ACKNOWLEDGED,
    OPEN,
    RESOLVED,
    SNOOZED,
    render_admin_health,
    render_alert,
    render_follow_up,
    render_group,
    render_overflow,
)
from bot.slack.delivering.personal import BACK, CRITICAL, NEW, dm_people
from bot.slack.delivering.poster import Poster
from bot.slack.delivering.sends import dm_admins_once, send_once
from insights.findings import Finding, Severity
from insights.report_json import finding_from_json, finding_to_json
from storage.alert_messages import (
    AlertRecord,
    count_channel_cards_since,
    load_alert,
    load_alerts,
    save_alert,
)
from storage.health import SourceHealth
from storage.sends import SendKey, load_send
from storage.slack_settings import active_mutes

log = logging.getLogger(__name__)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class AlertPolicy:
    """How noisy the bot may be."""

    cooldown: timedelta = timedelta(hours=24)
    """A finding that clears and returns within this span reopens its old message."""
    daily_cap: int = 5
    """New alert cards a channel gets per day at most (each card in a group's thread counts);
    ``vsm alerts backtest`` measured this default on the demo team (README)."""
    group_above: int = 3
    """More new findings than this in one run are grouped in one message."""
    stale_after: timedelta = timedelta(hours=6)
    """A source without a successful sync for this long is stale."""
    failures_before_alert: int = 3
    """Consecutive failed syncs of a source before the admins are told."""
    min_severity: Severity = Severity.WARN
    """Less severe findings wait for the daily digest instead of alerting."""


@dataclass
class AlertRun:
    """What one delivery did."""

    posted: int = 0
    updated: int = 0
    resolved: int = 0
    follow_ups: int = 0
    deferred: int = 0
    overflow: int = 0
    personal: int = 0
    """Personal DMs sent to the people the cards name."""


def fingerprint(card: Message) -> str:
    """Changes when anything shown on a card changes (its text, blocks and buttons)."""
    data = json.dumps(card.as_kwargs(), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def card_key(record: AlertRecord) -> SendKey:
    """The key an alert card carries as message metadata (its record's id)."""
    return SendKey(record.team, record.channel_id, "alert", str(record.id))


def local_midnight(now: datetime, zone: tzinfo) -> datetime:
    """The start of ``now``'s day in ``zone``."""
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)


def _within(moment: time, start: time, end: time) -> bool:
    return start <= moment < end if start <= end else (moment >= start or moment < end)


def may_notify(team: TeamConfig, now: datetime) -> bool:
    """True inside the team's working hours, on no holiday, outside its quiet hours (team zone)."""
    local = now.astimezone(team.zone)
    hours = team.working_hours
    if WEEKDAY_NAMES[local.weekday()] not in hours.days or local.date() in team.holidays:
        return False
    if not _within(local.time(), hours.start, hours.end):
        return False
    quiet = team.quiet_hours
    return quiet is None or not _within(local.time(), quiet.start, quiet.end)


def _reasons(finding: Finding) -> tuple[Finding, ...]:
    """What a finding stands for: a subject's reasons, or the detector's finding itself."""
    return finding.reasons or (finding,)


def _muted(finding: Finding, muted: set[str]) -> bool:
    """True when every detector behind ``finding`` is muted (a team finding: its own)."""
    return {r.detector for r in _reasons(finding)} <= muted


def new_reasons(before: Finding, now: Finding) -> list[Finding]:
    """The reasons ``now`` gives that ``before`` did not (by their dedupe keys)."""
    known = {r.dedupe_key for r in _reasons(before)}
    return [r for r in _reasons(now) if r.dedupe_key not in known]


class _Delivery:
    """One run of the pipeline for one team in one channel."""

    def __init__(
        self,
        engine: Engine,
        poster: Poster,
        team: TeamConfig,
        channel: str,
        now: datetime,
        policy: AlertPolicy,
        people: People,
    ) -> None:
        self.engine = engine
        self.poster = poster
        self.team = team
        self.channel = channel
        self.now = now
        self.policy = policy
        self.people = people
        self.notify = may_notify(team, now)
        self.run = AlertRun()

    def save(self, record: AlertRecord) -> AlertRecord:
        return save_alert(self.engine, record)

    def card(self, record: AlertRecord) -> Message:
        return render_alert(record, self.people, self.team, self.now)

    def follow_up(self, record: AlertRecord, text: str) -> None:
        """A note in the card's thread (a grouped card's thread is its group's)."""
        thread = record.thread_ts or record.ts
        if thread is not None:
            self.poster.post(self.channel, render_follow_up(text), thread_ts=thread)
            self.run.follow_ups += 1

    def refresh(self, record: AlertRecord) -> AlertRecord:
        """Show the record's current card in place, if it changed; the record as saved."""
        card = self.card(record)
        shown = fingerprint(card)
        if record.ts is not None and shown != record.fingerprint:
            self.poster.update(self.channel, record.ts, card)
            self.run.updated += 1
        return self.save(dataclasses.replace(record, fingerprint=shown))

    def tell_people(self, record: AlertRecord, finding: Finding, why: str) -> None:
        """DM the people the card names who asked for it (see :mod:`personal`)."""
        self.run.personal += dm_people(
            self.engine, self.poster, self.people, self.team, record, finding, why, self.now
        )

    def track(self, record: AlertRecord, finding: Finding) -> None:
        """A finding that already has a live message: update it as it changes."""
        updated, notes, why = self.wake(record, finding)
        before = finding_from_json(record.finding)
        notes += [f"New: {escape(r.title)}" for r in new_reasons(before, finding)]
        updated = self.refresh(updated)
        if notes and self.notify and updated.state == OPEN:
            self.follow_up(updated, "\n".join(notes))
            if why is not None:
                self.tell_people(updated, finding, why)

    def wake(
        self, record: AlertRecord, finding: Finding
    ) -> tuple[AlertRecord, list[str], str | None]:
        """The record as ``finding`` leaves it, reopened when it came back or its snooze ended.

        With the thread notes saying so (or that it escalated), and why the people it names
        hear of it (None: they do not).
        """
        escalated = finding.severity.rank > Severity(record.severity).rank
        updated = dataclasses.replace(
            record,
            finding=finding_to_json(finding),
            severity=finding.severity.value,
            last_seen_at=self.now,
        )
        notes: list[str] = []
        why: str | None = None
        if record.state == RESOLVED:
            updated = dataclasses.replace(updated, state=OPEN, resolved_at=None)
            notes.append("It is back: the problem has returned.")
            why = BACK
        snooze_over = (
            record.state == SNOOZED
            and record.snoozed_until is not None
            and record.snoozed_until <= self.now
        )
        if snooze_over and self.notify:
            updated = dataclasses.replace(updated, state=OPEN, snoozed_until=None)
            notes.append("The snooze is over and this still holds.")
            why = BACK
        elif escalated and updated.state == OPEN:
            notes.append(f"Escalated to {finding.severity.value}: {escape(finding.title)}")
            why = why or (CRITICAL if finding.severity is Severity.CRITICAL else None)
        return updated, notes, why

    def post_new(self, new: Sequence[tuple[Finding, AlertRecord | None]]) -> None:
        """Post findings without a live message, within the daily cap."""
        if not new:
            return
        if not self.notify:
            self.run.deferred += len(new)
            return
        ordered = sorted(new, key=lambda pair: (-pair[0].severity.rank, pair[0].dedupe_key))
        since = local_midnight(self.now, self.team.zone)
        room = max(
            0, self.policy.daily_cap - count_channel_cards_since(self.engine, self.channel, since)
        )
        now_posted, held_back = ordered[:room], ordered[room:]
        parent = None
        if len(now_posted) > self.policy.group_above:
            group = render_group(self.team.name, [f for f, _ in now_posted])
            key = SendKey(self.team.name, self.channel, "alert_group", self.now.isoformat())
            parent = self.poster.post_once(self.channel, group, dataclasses.asdict(key), self.now)
        for finding, old in now_posted:
            self.post_card(finding, old, thread_ts=parent)
        self.summarise_overflow([f for f, _ in held_back])

    def post_card(self, finding: Finding, old: AlertRecord | None, thread_ts: str | None) -> None:
        base = AlertRecord(
            team=self.team.name,
            channel_id=self.channel,
            dedupe_key=finding.dedupe_key,
            detector=finding.detector,
            severity=finding.severity.value,
            finding=finding_to_json(finding),
            fingerprint="",
            state=OPEN,
            first_seen_at=self.now,
            last_seen_at=self.now,
            thread_ts=thread_ts,
            id=old.id if old is not None else None,
        )
        record = self.save(base)
        card = self.card(record)
        found = self.find_interrupted(old)
        if found is not None and old is not None:  # only an earlier, unfinished card is found
            record = dataclasses.replace(record, thread_ts=old.thread_ts)
            ts = found
            self.poster.update(self.channel, ts, card)  # as this run sees it
        else:
            key = dataclasses.asdict(card_key(record))
            ts = self.poster.post_once(self.channel, card, key, self.now, thread_ts=thread_ts)
        posted = dataclasses.replace(
            record, ts=ts, posted_at=self.now, fingerprint=fingerprint(card)
        )
        self.save(posted)
        self.run.posted += 1
        self.tell_people(posted, finding, NEW)

    def find_interrupted(self, old: AlertRecord | None) -> str | None:
        """The card an earlier run posted without learning its ts (its answer was lost)."""
        if old is None or old.ts is not None or old.id is None:
            return None
        key = dataclasses.asdict(card_key(old))
        return self.poster.find_sent(self.channel, key, old.last_seen_at, old.thread_ts)

    def summarise_overflow(self, overflow: Sequence[Finding]) -> None:
        if not overflow:
            return
        self.run.overflow += len(overflow)
        period = self.now.astimezone(self.team.zone).date().isoformat()
        key = SendKey(self.team.name, self.channel, "alert_overflow", period)
        message = render_overflow(self.team.name, overflow, self.policy.daily_cap)
        if send_once(self.engine, self.poster, key, message, self.now, lambda: self.channel):
            return
        sent = load_send(self.engine, key)
        if sent is not None and sent.ts is not None:
            self.poster.update(self.channel, sent.ts, message)

    def resolve(self, record: AlertRecord) -> None:
        resolved = dataclasses.replace(record, state=RESOLVED, resolved_at=self.now)
        resolved = self.refresh(resolved)
        self.run.resolved += 1
        if self.notify and record.state == OPEN:
            self.follow_up(resolved, "Resolved: this no longer holds.")


def deliver_alerts(
    engine: Engine,
    poster: Poster,
    team: TeamConfig,
    channel: str,
    findings: Iterable[Finding],
    now: datetime,
    policy: AlertPolicy = AlertPolicy(),
    *,
    people: People,
) -> AlertRun:
    """Bring the channel's alert messages in line with ``findings`` (see the module docstring).

    ``findings``: one per subject (:func:`insights.subjects.merge_by_subject`); ``people`` names
    who can act on each card.
    """
    delivery = _Delivery(engine, poster, team, channel, now, policy, people)
    muted = {m.detector for m in active_mutes(engine, team.name, now)}
    current = {
        f.dedupe_key: f
        for f in findings
        if not _muted(f, muted) and f.severity.rank >= policy.min_severity.rank
    }
    records = {r.dedupe_key: r for r in load_alerts(engine, team.name, channel)}
    new: list[tuple[Finding, AlertRecord | None]] = []
    for key, finding in current.items():
        record = records.get(key)
        if record is None or record.ts is None or _cooled_down(record, now, policy):
            new.append((finding, record))
        else:
            delivery.track(record, finding)
    delivery.post_new(new)
    for key, record in records.items():
        cleared = key not in current and not _muted(finding_from_json(record.finding), muted)
        if cleared and record.state != RESOLVED and record.ts is not None:
            delivery.resolve(record)
    return delivery.run


def _cooled_down(record: AlertRecord, now: datetime, policy: AlertPolicy) -> bool:
    """A resolved alert whose cooldown is over: its finding is posted afresh if it returns."""
    return (
        record.state == RESOLVED
        and record.resolved_at is not None
        and now - record.resolved_at >= policy.cooldown
    )


def apply_button(
    engine: Engine,
    poster: Poster,
    alert_id: int,
    user_id: str,
    now: datetime,
    snooze: timedelta | None,
    *,
    people: People,
    teams: Sequence[TeamConfig],
) -> AlertRecord | None:
    """Acknowledge (``snooze`` None) or snooze an alert; update its card and note it in the thread.

    Acknowledging the card acknowledges its subject. ``people`` and ``teams`` (the configured
    teams) render the card as the pipeline does, mentions included. Returns None when the alert
    does not exist or is already resolved.
    """
    record = load_alert(engine, alert_id)
    if record is None or record.state == RESOLVED:
        return None
    if snooze is None:
        changed = dataclasses.replace(
            record, state=ACKNOWLEDGED, acted_by=user_id, acted_at=now, snoozed_until=None
        )
        note = f"<@{user_id}> acknowledged this."
    else:
        changed = dataclasses.replace(
            record, state=SNOOZED, acted_by=user_id, acted_at=now, snoozed_until=now + snooze
        )
        note = f"<@{user_id}> snoozed this for {_span(snooze)}."
    team = next((t for t in teams if t.name == record.team), None)
    card = render_alert(changed, people, team, now)
    changed = save_alert(engine, dataclasses.replace(changed, fingerprint=fingerprint(card)))
    if changed.ts is not None:
        poster.update(changed.channel_id, changed.ts, card)
        thread = changed.thread_ts or changed.ts
        poster.post(changed.channel_id, render_follow_up(note), thread_ts=thread)
    return changed


def _span(duration: timedelta) -> str:
    days = duration.days
    return "1 week" if days == 7 else f"{days} day{'s' if days != 1 else ''}"


def source_problem(health: SourceHealth, now: datetime, policy: AlertPolicy) -> str | None:
    """Why the admins should hear about this source (None when it is healthy)."""
    if health.consecutive_failures >= policy.failures_before_alert:
        return f"failed {health.consecutive_failures} syncs in a row"
    if health.last_attempt_at is not None and (
        health.last_success_at is None or now - health.last_success_at > policy.stale_after
    ):
        return "has stale data (no successful sync for a while)"
    return None


def alert_admins(
    engine: Engine,
    poster: Poster,
    config: AppConfig,
    health: Sequence[SourceHealth],
    now: datetime,
    policy: AlertPolicy = AlertPolicy(),
) -> int:
    """Tell each admin once a day about each failing or stale source; return messages sent."""
    sent = 0
    teams = {t.name: t for t in config.teams}
    for h in health:
        reason = source_problem(h, now, policy)
        team = teams.get(h.team)
        if reason is None or team is None:
            continue
        kind = "admin_failing" if "failed" in reason else "admin_stale"
        admins = [*config.slack.admins, *team.admins]
        message = render_admin_health(h, reason)
        sent += dm_admins_once(engine, poster, team, admins, f"{kind}:{h.source_key}", message, now)
    return sent
