"""What each ``/vsm`` command does once it has been acknowledged (runs in the worker pool).

Every handler gets the parsed :class:`~bot.slack.receiving.parser.Command`, the team, who asked
and where, and returns the reply (ephemeral unless the user said ``share``). ``/vsm me`` is the
caller's own and needs no channel's team: it answers anywhere, always privately. ``/vsm map``,
``/vsm trace`` and ``/vsm forecast release 2.3`` (any scope) post a message with its picture in
the thread (in a direct message unless shared). ``/vsm track`` and ``untrack`` change the scopes
the team tracks beside app.yaml's (:mod:`bot.tracked_scopes`). Changing digests, alerts, mutes
and tracked scopes is for admins only. Nothing here raises at the user: failures become a polite
reply and a logged traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from bot.charts import SCOPE_CHARTS, ChartImage, render_chart
from bot.config import TeamConfig
from bot.slack.answering.blocks import MESSAGE_CHARS, Message, escape
from bot.slack.answering.render import (
    item_line,
    notice,
    pr_line,
    render_aging,
    render_blocked,
    render_dora,
    render_flow,
    render_forecast_by,
    render_forecast_when,
    render_full_list,
    render_help,
    render_prs,
    render_status,
    render_usage,
)
from bot.slack.answering.render_backtest import alert_estimate
from bot.slack.answering.render_digest import finding_entry
from bot.slack.answering.render_map import render_map
from bot.slack.answering.render_me import my_work, render_dms_switched, render_me
from bot.slack.answering.render_scope import render_scope, render_tracked, render_tracked_list
from bot.slack.answering.render_trace import render_trace, render_trace_not_found
from bot.slack.delivering.problems import database_busy
from bot.slack.deps import SlackDeps
from bot.slack.receiving.parser import DEFAULT_MAP_WINDOW, USAGES, Command, echo, scope_words
from bot.slack.state.teams import channel_teams, choose_team, is_admin, refusal
from bot.tracked_scopes import find_scope, team_scopes
from bot.webhooks.setup import team_webhooks
from insights.detectors import detector_names
from insights.scopes import (
    SCOPE_KINDS,
    ScopeForecast,
    ScopeKind,
    ScopeRef,
    scope_forecast,
    what_if,
)
from storage.people import personal_dms_on, set_personal_dms
from storage.slack_settings import (
    AlertChannel,
    Mute,
    Subscription,
    delete_subscriptions,
    save_alert_channel,
    save_mute,
    save_subscription,
    teams_followed_in,
)
from storage.tracked_scopes import TrackedScope, track_scope, tracked_scopes, untrack_scope
from storage.webhooks import load_webhook_health

log = logging.getLogger(__name__)
Respond = Callable[..., Any]
DEFAULT_FLOW_WINDOW = 14
DEFAULT_DORA_WINDOW = 90


@dataclass(frozen=True)
class Invocation:
    """Who ran a command or clicked a button, and where."""

    user_id: str
    channel_id: str
    channel_name: str | None = None
    workspace_id: str | None = None

    @classmethod
    def from_command(cls, command: Mapping[str, Any]) -> Invocation:
        """From a slash command payload."""
        return cls(
            user_id=command["user_id"],
            channel_id=command["channel_id"],
            channel_name=command.get("channel_name"),
            workspace_id=command.get("team_id"),
        )


def reply(respond: Respond, message: Message, share: bool = False) -> None:
    """Answer through the request's ``response_url``."""
    respond(
        **message.as_kwargs(),
        response_type="in_channel" if share else "ephemeral",
        replace_original=False,
    )


def run_command(
    deps: SlackDeps, command: Command, who: Invocation, respond: Respond, client: WebClient
) -> None:
    """Carry out ``command`` and reply; never raises."""
    config = deps.runtime.config
    try:
        deps.channels.remember(who.channel_id, who.channel_name)
        if command.name == "me":
            reply(respond, _me(deps, command, who, deps.now()))
            return
        followed = teams_followed_in(deps.runtime.engine, who.channel_id)
        mapped = channel_teams(config, who.channel_id, who.channel_name, followed)
        team = choose_team(config, command.team, mapped, who.user_id)
        if isinstance(team, str):
            reply(respond, render_usage(command.name, team))
            return
        if USAGES[command.name].admin and not is_admin(config, team, who.user_id):
            reply(respond, notice(refusal(who.user_id)))
            return
        message = HANDLERS[command.name](Request(deps, command, team, who, client, deps.now()))
        if isinstance(message, Private):
            reply(respond, message.message)
        elif message is not None:
            reply(respond, message, command.share)
    except OperationalError as exc:
        busy = database_busy(exc, deps.runtime.engine)
        if busy is None:
            log.exception("/vsm %s failed", command.name)
            busy = "that failed on my side. It is logged; please try again"
        else:
            log.warning("/vsm %s: %s", command.name, busy)
        reply(respond, notice(f"Sorry, {busy}."))
    except Exception:
        log.exception("/vsm %s failed", command.name)
        reply(respond, notice("Sorry, that failed on my side. It is logged; please try again."))


@dataclass(frozen=True)
class Request:
    """One command to carry out: the services, the command, its team, who asked, the client."""

    deps: SlackDeps
    command: Command
    team: TeamConfig
    who: Invocation
    client: WebClient
    now: datetime


@dataclass(frozen=True)
class Private:
    """A reply only the person who asked sees, even when they said ``share``."""

    message: Message


Handler = Callable[[Request], Message | Private | None]


def _me(deps: SlackDeps, command: Command, who: Invocation, now: datetime) -> Message:
    """``/vsm me``: the caller's own work, in any channel, only to them; or switch their DMs."""
    engine = deps.runtime.engine
    if command.enabled is not None:
        set_personal_dms(engine, who.user_id, command.enabled, now)
        return render_dms_switched(command.enabled)
    config = deps.runtime.config
    teams = [config.team(command.team)] if command.team else list(config.teams)
    work = my_work(deps.answers, deps.people(who.workspace_id), teams, who.user_id, now)
    dms_on = personal_dms_on(engine, who.user_id)
    return render_me(work, now, dms_on, show_team=len(config.teams) > 1)


def _help(r: Request) -> Message:
    return render_help(r.command.topic)


def _flow(r: Request) -> Message:
    window = r.command.window_days or DEFAULT_FLOW_WINDOW
    return render_flow(r.deps.answers.digest(r.team, r.now, window))


def _aging(r: Request) -> Message:
    answers = r.deps.answers
    return render_aging(answers.digest(r.team, r.now), answers.item_ages(r.team, r.now))


def _blocked(r: Request) -> Message:
    answers = r.deps.answers
    return render_blocked(answers.digest(r.team, r.now), answers.item_ages(r.team, r.now))


def _prs(r: Request) -> Message:
    return render_prs(r.team.name, r.deps.answers.open_pull_requests(r.team, r.now))


def _dora(r: Request) -> Message:
    window = r.command.window_days or DEFAULT_DORA_WINDOW
    return render_dora(r.team.name, r.deps.answers.dora(r.team, r.now, window), window)


def _forecast(r: Request) -> Message | Private | None:
    count, target = r.command.count, r.command.target
    if r.command.kind in SCOPE_KINDS:
        return _forecast_scope(r)
    basis = r.deps.answers.forecast_basis(r.team, r.now)
    if count is not None:
        return render_forecast_when(r.team.name, count, basis.when(count), basis)
    assert target is not None
    if target <= basis.today:
        when = "today" if target == basis.today else "in the past"
        return render_usage(
            "forecast", f"{target} is {when}; forecasts start tomorrow, so pick a later date."
        )
    try:
        how_many = basis.how_many(target)
    except ValueError as exc:
        return render_usage("forecast", f"{exc}.")
    return render_forecast_by(r.team.name, target, how_many, basis)


def _scope_named(r: Request) -> tuple[ScopeKind, str]:
    """The kind and key of the scope the command names."""
    kind, key = r.command.kind, r.command.key
    assert kind in SCOPE_KINDS and key is not None
    return kind, key


def _not_after_today(r: Request, by: date | None) -> Private | None:
    """The usage, privately, when ``by`` is a date not after today."""
    if by is None or by > r.now.astimezone(r.team.zone).date():
        return None
    return Private(render_usage(r.command.name, f"{by} is not after today; pick a later date."))


def _forecast_scope(r: Request) -> Message | Private | None:
    """``/vsm forecast release 2.3`` (any scope): as it is and what if, the burn-up in thread.

    A scope with no items, or a ``by`` date not after today, gets the usage, privately.
    """
    (kind, key), by, levers = _scope_named(r), r.command.target, r.command.levers
    snapshot = r.deps.answers.snapshot(r.team)
    too_early = _not_after_today(r, by)
    if too_early is not None:
        return too_early
    ref = find_scope(r.deps.runtime.engine, r.team, snapshot, kind, key, by)
    with_levers: ScopeForecast | None = None
    if levers is None:
        base = scope_forecast(snapshot, ref, r.now, r.team.zone)
    else:
        base, with_levers = what_if(snapshot, ref, r.now, r.team.zone, levers)
    if base.total == 0:
        return Private(
            render_usage(
                "forecast",
                f"I found no open or done items in {echo(scope_words(kind, key))} of "
                f"{r.team.name}.",
            )
        )
    return _post_with_chart(
        r,
        render_scope(r.team.name, base, with_levers),
        lambda: render_chart("burnup", snapshot, r.team, r.now, scope=ref),
        f"the forecast of {ref.name}",
    )


def _chart(r: Request) -> Message | None:
    kind = r.command.chart
    assert kind is not None
    if kind in SCOPE_CHARTS:
        return _burnup_chart(r)
    try:
        chart = r.deps.answers.chart(
            r.team,
            kind,
            r.now,
            window_days=r.command.window_days,
            forecast_items=r.command.count,
            forecast_date=r.command.target,
            item_key=r.command.key,
        )
    except ValueError as exc:
        return render_usage("chart", f"{exc}.")
    return _send_chart(r, chart)


def _burnup_chart(r: Request) -> Message | None:
    """``/vsm chart burnup release 2.3`` (any scope): the scope's burn-up alone.

    Without a scope, the team's first tracked one (app.yaml's first, else the first tracked from
    Slack). Drawn for this request, never from the chart cache: it holds no scope.
    """
    snapshot = r.deps.answers.snapshot(r.team)
    engine = r.deps.runtime.engine
    if r.command.kind is None:
        scope = next(iter(team_scopes(engine, r.team, snapshot)), None)
    else:
        scope = find_scope(engine, r.team, snapshot, *_scope_named(r))
    return _send_chart(r, render_chart("burnup", snapshot, r.team, r.now, scope=scope))


def _send_chart(r: Request, chart: ChartImage) -> Message | None:
    """Upload ``chart``: in the channel when shared, else in a direct message to who asked."""
    kind = chart.kind
    poster = r.deps.poster(r.client)
    channel = r.who.channel_id
    if r.command.share:
        try:
            poster.upload_chart(channel, chart, comment=chart.title)
        except SlackApiError as exc:
            log.warning("sharing a chart in %s failed: %s", channel, exc.response.get("error"))
            return notice(
                "I cannot post files in this channel. Invite me with `/invite` and try again."
            )
        return None
    if channel.startswith("D"):
        poster.upload_chart(channel, chart, comment=chart.title)
        return None
    poster.upload_chart(poster.open_dm(r.who.user_id), chart, comment=chart.title)
    return notice(f"I sent you the {kind} chart of {r.team.name} in a direct message.")


def _map(r: Request) -> Message | None:
    """``/vsm map``: the stream's numbers as a message, the map in its thread."""
    window = r.command.window_days or DEFAULT_MAP_WINDOW
    answers = r.deps.answers
    message = render_map(answers.value_stream(r.team, r.now, window), window, r.now)
    return _post_with_chart(
        r,
        message,
        lambda: answers.chart(r.team, "map", r.now, window_days=window),
        f"the value stream of {r.team.name}",
    )


def _trace(r: Request) -> Message | Private | None:
    """``/vsm trace KEY``: the item's journey as a message, its timeline in the thread."""
    key = r.command.key
    assert key is not None
    answers = r.deps.answers
    trace = answers.trace(r.team, key, r.now)
    if trace is None:
        return Private(render_trace_not_found(key, r.team.name))
    return _post_with_chart(
        r,
        render_trace(trace),
        lambda: answers.chart(r.team, "trace", r.now, item_key=trace.key),
        f"the journey of {trace.key}",
    )


def _post_with_chart(
    r: Request, message: Message, draw: Callable[[], ChartImage], what: str
) -> Message | None:
    """Post ``message`` and upload the chart ``draw`` makes into its thread.

    In the channel when the user said ``share`` (or asked in our direct messages), else in a
    direct message to them, with a private note saying so. A chart that fails to draw or upload
    is logged; the message stands.
    """
    poster = r.deps.poster(r.client)
    channel = r.who.channel_id
    private = not r.command.share and not channel.startswith("D")
    target = poster.open_dm(r.who.user_id) if private else channel
    try:
        ts = poster.post(target, message)
    except SlackApiError as exc:
        log.warning("posting %s in %s failed: %s", what, target, exc.response.get("error"))
        return notice("I cannot post in this channel. Invite me with `/invite` and try again.")
    try:
        chart = draw()
        poster.upload_chart(target, chart, thread_ts=ts, comment=chart.title)
    except Exception:
        log.exception("could not upload the picture of %s", what)
        poster.post(target, notice("Sorry, I could not draw the picture; it is logged."), ts)
    return notice(f"I sent you {what} in a direct message.") if private else None


def _status(r: Request) -> Message:
    health = r.deps.answers.health(r.team)
    webhooks = team_webhooks(r.team, load_webhook_health(r.deps.runtime.engine))
    return render_status(r.team.name, health, r.now, r.deps.policy.stale_after, webhooks)


def _subscribe(r: Request) -> Message:
    kind, at, weekday = r.command.kind, r.command.at, r.command.weekday
    assert kind is not None and at is not None
    subscription = Subscription(
        team=r.team.name,
        channel_id=r.who.channel_id,
        kind=kind,
        at=at,
        weekday=weekday,
        created_by=r.who.user_id,
        created_at=r.now,
        workspace_id=r.who.workspace_id,
    )
    save_subscription(r.deps.runtime.engine, subscription)
    when = f"every {weekday} at {at}" if weekday else f"every day at {at}"
    return notice(
        f"Done: the {kind} digest of {r.team.name} will be posted here {when} ({r.team.timezone})."
    )


def _unsubscribe(r: Request) -> Message:
    kind = r.command.kind
    removed = delete_subscriptions(r.deps.runtime.engine, r.team.name, r.who.channel_id, kind)
    what = f"{kind} digest" if kind else "digests"
    if not removed:
        return notice(f"This channel had no {what} of {r.team.name} to stop.")
    return notice(f"Done: no more {what} of {r.team.name} in this channel.")


def _alerts(r: Request) -> Message:
    enabled = r.command.enabled
    if enabled is None:
        return alert_estimate(r.deps.answers, r.team, r.now, r.deps.policy)
    channel = AlertChannel(
        r.team.name, r.who.channel_id, enabled, r.who.user_id, r.now, r.who.workspace_id
    )
    save_alert_channel(r.deps.runtime.engine, channel)
    return notice(
        f"Done: alerts of {r.team.name} are {'on' if enabled else 'off'} in this channel."
    )


def _mute(r: Request) -> Message:
    detector, days = r.command.detector, r.command.days
    assert detector is not None
    names = detector_names()
    if detector not in names:
        known = ", ".join(f"`{n}`" for n in names)
        return render_usage("mute", f"There is no detector `{echo(detector)}`. Detectors: {known}.")
    until = r.now + timedelta(days=days) if days else None
    save_mute(r.deps.runtime.engine, Mute(r.team.name, detector, until, r.who.user_id, r.now))
    span = f"for {days} day(s)" if days else "until muted again for a number of days"
    return notice(f"Done: no `{detector}` alerts for {r.team.name} {span}.")


def _track(r: Request) -> Message | Private:
    """``/vsm track KIND KEY [by DATE]``: track the scope and show its forecast; alone: list."""
    if r.command.kind is None:
        return _tracked_list(r)
    kind, key = _scope_named(r)
    too_early = _not_after_today(r, r.command.target)
    if too_early is not None:
        return too_early
    configured = _in_app_yaml(r.team, kind, key)
    if configured is not None:
        return Private(
            notice(
                f"{escape(configured.name)} is tracked in app.yaml already: change its target "
                "under teams[].scopes there."
            )
        )
    engine = r.deps.runtime.engine
    tracked = TrackedScope(r.team.name, kind, key, None, r.command.target, r.who.user_id, r.now)
    track_scope(engine, tracked)
    snapshot = r.deps.answers.snapshot(r.team)
    ref = find_scope(engine, r.team, snapshot, kind, key)
    return render_tracked(r.team.name, scope_forecast(snapshot, ref, r.now, r.team.zone))


def _tracked_list(r: Request) -> Message:
    """``/vsm track`` alone: app.yaml's scopes, then those tracked from Slack, and by whom."""
    engine = r.deps.runtime.engine
    added_by = {(s.kind, s.key): s.added_by for s in tracked_scopes(engine, r.team.name)}
    in_app_yaml = {(ref.kind, ref.key) for ref in r.team.scope_refs()}
    scopes = [
        (
            ref,
            None if (ref.kind, ref.key) in in_app_yaml else added_by.get((ref.kind, ref.key)) or "",
        )
        for ref in team_scopes(engine, r.team, r.deps.answers.snapshot(r.team))
    ]
    return render_tracked_list(r.team.name, scopes)


def _untrack(r: Request) -> Message | Private:
    """``/vsm untrack KIND KEY``: stop tracking a scope tracked from Slack; app.yaml's stay."""
    kind, key = _scope_named(r)
    words = escape(scope_words(kind, key))
    if _in_app_yaml(r.team, kind, key) is not None:
        return Private(
            notice(
                f"`{words}` is tracked in app.yaml, so I cannot untrack it from Slack: remove it "
                f"from teams[].scopes of {escape(r.team.name)} in app.yaml and restart the bot."
            )
        )
    if not untrack_scope(r.deps.runtime.engine, r.team.name, kind, key):
        return Private(notice(f"{escape(r.team.name)} does not track `{words}`."))
    return notice(
        f"Done: {escape(r.team.name)} no longer tracks `{words}`; the report, the digest and "
        "scope_at_risk leave it out."
    )


def _in_app_yaml(team: TeamConfig, kind: ScopeKind, key: str) -> ScopeRef | None:
    """The scope as app.yaml tracks it, None when app.yaml does not."""
    return next((ref for ref in team.scope_refs() if (ref.kind, ref.key) == (kind, key)), None)


HANDLERS: dict[str, Handler] = {
    "help": _help,
    "flow": _flow,
    "aging": _aging,
    "blocked": _blocked,
    "prs": _prs,
    "dora": _dora,
    "forecast": _forecast,
    "chart": _chart,
    "map": _map,
    "trace": _trace,
    "status": _status,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "alerts": _alerts,
    "mute": _mute,
    "track": _track,
    "untrack": _untrack,
}


def show_all(
    deps: SlackDeps, value: str, who: Invocation, respond: Respond, client: WebClient
) -> None:
    """Answer a "Show all" button: the whole list, as a message or (when long) a text file."""
    try:
        list_name, team_name, _ = value.split("|", 2)
        team = deps.runtime.config.team(team_name)
    except (ValueError, KeyError):
        reply(respond, notice("That list is no longer available; run the command again."))
        return
    title, lines = _full_list(deps, list_name, team, deps.now())
    if sum(len(line) + 1 for line in lines) < MESSAGE_CHARS - 500:
        reply(respond, render_full_list(title, lines))
        return
    poster = deps.poster(client)
    channel = who.channel_id if who.channel_id.startswith("D") else poster.open_dm(who.user_id)
    content = "\n".join(lines).encode()
    filename = f"{list_name}-{team.name}.txt"
    poster.upload(channel, content, filename, title, comment=f"{title}: {len(lines)}")
    reply(respond, notice(f"The full list ({len(lines)}) is in a direct message from me."))


def _full_list(
    deps: SlackDeps, list_name: str, team: TeamConfig, now: datetime
) -> tuple[str, list[str]]:
    answers = deps.answers
    if list_name == "prs":
        prs = answers.open_pull_requests(team, now)
        return f"Open pull requests · {team.name}", [pr_line(p) for p in prs]
    if list_name == "findings":
        subjects = answers.subjects(team, now)
        return f"Findings · {team.name}", [finding_entry(f) for f in subjects]
    digest, ages = answers.digest(team, now), answers.item_ages(team, now)
    if list_name == "blocked":
        return f"Blocked items · {team.name}", [item_line(i, ages) for i in digest.blocked]
    return f"Aging items · {team.name}", [item_line(i, ages) for i in digest.aging]
