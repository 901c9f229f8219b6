"""Parse the text after ``/vsm`` into a :class:`Command`, or a :class:`UsageError` that says why.

Pure and forgiving: words are case-insensitive, ``share`` anywhere posts the answer in the channel,
a configured team name anywhere selects the team. Double quotes (straight, or the curly ones Slack
may type) hold a name with spaces together as one word: ``release "Mobile 2.3"``. Unknown or
malformed input never raises: it yields the usage of the nearest command (``flwo`` → ``flow``)
and what was wrong. A problem quotes the input back clipped to :data:`ECHO_CHARS` (:func:`echo`),
never a long paste whole.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from bot.charts import CHART_KINDS, ITEM_CHARTS, SCOPE_CHARTS
from bot.slack.answering.blocks import clip
from insights.scope_refs import SCOPE_KINDS
from insights.scopes import Levers

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SHARE_WORD = "share"
MAX_WINDOW_DAYS = 365
MAX_FORECAST_ITEMS = 10_000
ECHO_CHARS = 40
DEFAULT_MAP_WINDOW = 30
"""Days of finished items ``/vsm map`` maps unless asked: the report's window."""
TRACKER_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-([1-9][0-9]*)")
"""A tracker key, any case (``pay-12``): read upper case, as the trackers write it."""
REVIEW_KEY = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+[#!][1-9][0-9]*")
"""A pull or merge request: ``acme/api#7`` (GitHub), ``group/project!12`` (GitLab)."""
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,99}")
"""A label as trackers allow it in a query: no spaces or quotes, at most 100 characters. A
release named in one word (``2.3``, ``v2.3.0``) is read the same way."""
FILTER_ID = re.compile(r"[1-9][0-9]{0,18}")
"""A saved Jira filter's id."""
MAX_QUOTED_CHARS = 255
"""The longest release name in quotes (what a tracked scope's key holds)."""
WORD = re.compile(r"[\"\u201c\u201d]([^\"\u201c\u201d]*)[\"\u201c\u201d]|(\S+)")
"""A word, or the text between double quotes (straight or curly)."""
SCOPES_SYNTAX = "epic KEY|label NAME|release NAME|filter ID"
THROUGHPUT_CHANGE = re.compile(r"([+-]?)(\d{1,3})%")
MAX_THROUGHPUT_CHANGE = 500
"""``throughput +N%`` levers go from -99% (a hundredth of the pace) to +500%."""


@dataclass(frozen=True)
class Usage:
    """How to use one command."""

    syntax: str
    summary: str
    admin: bool = False


USAGES: dict[str, Usage] = {
    "help": Usage("help [command]", "What I can do, or how to use one command."),
    "flow": Usage(
        "flow [team] [window]",
        "WIP, throughput and cycle time p50/p85; window like `14d` or `4w` (default 14 days).",
    ),
    "aging": Usage("aging [team]", "Items in progress for longer than the team usually takes."),
    "blocked": Usage("blocked [team]", "Blocked and flagged items, longest blocked first."),
    "prs": Usage("prs [team]", "Open pull requests and how long they have waited."),
    "dora": Usage("dora [team] [window]", "DORA metrics and their bands (default 90 days)."),
    "forecast": Usage(
        "forecast when N [team]  |  forecast by YYYY-MM-DD [team]  |  "
        f"forecast {SCOPES_SYNTAX} [levers]",
        "When N more items will be done, or how many by a date (Monte Carlo); when a scope (an "
        "epic's children, a label's items, a release like `2.3` or `\"Mobile 2.3\"` (a fix "
        "version or a milestone; `milestone` works too), a saved filter) will be done, with its "
        "scope growth, and what if: levers `freeze` (no more growth), `cut N` (items), "
        "`throughput +20%`, `by YYYY-MM-DD` (target).",
    ),
    "chart": Usage(
        f"chart {'|'.join(k for k in CHART_KINDS if k not in (*ITEM_CHARTS, *SCOPE_CHARTS))} "
        "[team] [window]  |  "
        "chart trace KEY  |  chart forecast when N|by YYYY-MM-DD  |  "
        f"chart burnup [{SCOPES_SYNTAX}]",
        "A chart of the team's flow (sent to you privately unless you add `share`).",
    ),
    "map": Usage(
        "map [team] [window]",
        "The value stream map: each step's process time, wait and %C&A, and where the time goes "
        f"(items finished in the window, default {DEFAULT_MAP_WINDOW} days); the map is in the "
        "thread.",
    ),
    "trace": Usage(
        "trace KEY [team]",
        "One item's journey across tools (`PAY-12`, or a pull request like `acme/api#7`): "
        "statuses, pull requests, deployment, the time in each step and the waits.",
    ),
    "status": Usage(
        "status [team]", "Sync health per source: last success, last error, staleness."
    ),
    "me": Usage(
        "me [team]  |  me on|off",
        "Your items and pull requests that need you, oldest first (only you see them); "
        "`on` or `off` switches personal direct messages about them (off until you say `on`).",
    ),
    "subscribe": Usage(
        "subscribe digest daily HH:MM [team]  |  subscribe digest weekly DAY HH:MM [team]",
        "Post the team's digest in this channel (times in the team's time zone).",
        admin=True,
    ),
    "unsubscribe": Usage(
        "unsubscribe [daily|weekly] [team]", "Stop this channel's digests.", admin=True
    ),
    "alerts": Usage(
        "alerts [on|off] [team]",
        "How many alert cards the last 30 days would have sent with the current settings; "
        "`on` or `off` switches the team's alerts in this channel.",
        admin=True,
    ),
    "mute": Usage(
        "mute DETECTOR [DAYS] [team]",
        "Stop alerts from one detector for the team, for DAYS days or until unmuted.",
        admin=True,
    ),
    "track": Usage(
        f"track [{SCOPES_SYNTAX} [by YYYY-MM-DD]] [team]",
        "Forecast a scope in the report and the digest and watch it for risk (`scope_at_risk`), "
        "by a date or its release's date; `track` alone lists what the team tracks.",
        admin=True,
    ),
    "untrack": Usage(
        f"untrack {SCOPES_SYNTAX} [team]",
        "Stop tracking a scope tracked with `track` (app.yaml's scopes change in app.yaml).",
        admin=True,
    ),
}


@dataclass(frozen=True)
class Command:
    """A well-formed ``/vsm`` command; fields not used by ``name`` stay None."""

    name: str
    team: str | None = None
    share: bool = False
    window_days: int | None = None
    count: int | None = None
    target: date | None = None
    chart: str | None = None
    kind: str | None = None
    weekday: str | None = None
    at: str | None = None
    enabled: bool | None = None
    detector: str | None = None
    days: int | None = None
    topic: str | None = None
    key: str | None = None
    levers: Levers | None = None
    """What-if levers of a scope's forecast (``freeze``, ``cut N``, ``throughput +20%``)."""


@dataclass(frozen=True)
class UsageError:
    """Input that is not a command: the nearest command (None: unknown) and what was wrong."""

    command: str | None
    problem: str


def echo(text: str) -> str:
    """Input quoted back in a reply, clipped to :data:`ECHO_CHARS` (still to be escaped)."""
    return clip(text, ECHO_CHARS)


class _Bad(Exception):
    """A malformed argument; the message says what was expected."""


class _Quoted(str):
    """Text given in double quotes: one word, never ``share`` or a team's name."""

    __slots__ = ()


def split_words(text: str) -> list[str]:
    """The words of ``text``; the text between double quotes is one :class:`_Quoted` word."""
    return [_Quoted(m.group(1)) if m.group(2) is None else m.group(2) for m in WORD.finditer(text)]


def _is(word: str, plain: Collection[str]) -> bool:
    """Whether ``word`` (unquoted) is one of the lower-case ``plain`` words."""
    return not isinstance(word, _Quoted) and word.lower() in plain


def parse_command(text: str, teams: Collection[str] = ()) -> Command | UsageError:
    """Parse ``/vsm`` text; ``teams`` are the configured team names."""
    words = split_words(text)
    share = any(_is(w, (SHARE_WORD,)) for w in words)
    words = [w for w in words if not _is(w, (SHARE_WORD,))]
    if not words:
        return Command("help", share=share)
    name = words[0].lower()
    if name not in USAGES:
        nearest = difflib.get_close_matches(name, list(USAGES), n=1, cutoff=0.6)
        return UsageError(
            nearest[0] if nearest else None, f"I don't know the command `{echo(name)}`."
        )
    team_names = {t.lower(): t for t in teams}
    found_teams = [team_names[w.lower()] for w in words[1:] if _is(w, team_names)]
    if len(set(found_teams)) > 1:
        named = echo(", ".join(dict.fromkeys(found_teams)))
        return UsageError(name, f"Name one team at most (got {named}).")
    args = [w for w in words[1:] if not _is(w, team_names)]
    try:
        fields = _PARSERS[name](args)
    except _Bad as exc:
        return UsageError(name, str(exc))
    return Command(name, team=found_teams[0] if found_teams else None, share=share, **fields)


def _no_more(args: list[str], teams_allowed: bool = True) -> None:
    if args:
        hint = " If it is a team, check its name in app.yaml." if teams_allowed else ""
        raise _Bad(f"I did not understand `{echo(' '.join(args))}`.{hint}")


def _window(word: str) -> int:
    match = re.fullmatch(r"(\d+)([dw]?)", word.lower())
    if not match:
        raise _Bad(f"`{echo(word)}` is not a window; write days like `14d` or weeks like `4w`.")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise _Bad(f"The window must be 1 to {MAX_WINDOW_DAYS} days, got {days}.")
    return days


def _optional_window(args: list[str]) -> dict[str, object]:
    window = _window(args.pop(0)) if args else None
    _no_more(args)
    return {"window_days": window}


def _nothing(args: list[str]) -> dict[str, object]:
    _no_more(args)
    return {}


def _help(args: list[str]) -> dict[str, object]:
    topic = args.pop(0).lower() if args else None
    if topic is not None and topic not in USAGES:
        raise _Bad(f"There is no command `{echo(topic)}`.")
    _no_more(args, teams_allowed=False)
    return {"topic": topic}


def _forecast(args: list[str]) -> dict[str, object]:
    mode = args.pop(0).lower() if args else ""
    if mode == "when":
        if not args or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_FORECAST_ITEMS:
            raise _Bad(f"After `when`, give a number of items from 1 to {MAX_FORECAST_ITEMS}.")
        count = int(args.pop(0))
        _no_more(args)
        return {"count": count}
    if mode == "by":
        try:
            target = date.fromisoformat(args.pop(0)) if args else None
        except ValueError:
            target = None
        if target is None:
            raise _Bad("After `by`, give a date as YYYY-MM-DD, e.g. `forecast by 2026-12-31`.")
        _no_more(args)
        return {"target": target}
    if mode in SCOPE_WORDS:
        kind = SCOPE_WORDS[mode]
        return {"kind": kind, **_scope_key(kind, args), **_levers(args)}
    raise _Bad(f"Say `when N` (items), `by YYYY-MM-DD` (a date), or a scope: {_SCOPE_CHOICES}.")


def _day(word: str, after: str) -> date:
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise _Bad(f"After `{after}`, give a date as YYYY-MM-DD, e.g. `by 2027-01-15`.") from None


_SCOPE_CHOICES = "`epic KEY`, `label NAME`, `release NAME` or `filter ID`"
SCOPE_WORDS: dict[str, str] = {
    **{kind: kind for kind in SCOPE_KINDS},
    "milestone": "release",
    "version": "release",
    "fixversion": "release",
}
"""What a person may call each kind of scope: a GitHub/GitLab milestone or a Jira (fix) version
is a release."""


def _scope(args: list[str], example: str) -> dict[str, object]:
    """A scope's kind and key (``release 2.3``); ``example`` shows how to name one."""
    word = args.pop(0).lower() if args else ""
    if word not in SCOPE_WORDS:
        raise _Bad(f"Name the scope: {_SCOPE_CHOICES}, e.g. `{example}`.")
    kind = SCOPE_WORDS[word]
    return {"kind": kind, **_scope_key(kind, args)}


def _scope_key(kind: str, args: list[str]) -> dict[str, object]:
    """The key after a scope's kind: an epic's key, a label, a release's name, a filter's id."""
    word = args.pop(0) if args else ""
    if kind == "epic":
        if not TRACKER_KEY.fullmatch(word):
            raise _Bad(f"Name the epic by its key, e.g. `epic PAY-100` (got `{echo(word)}`).")
        return {"key": word.upper()}
    if kind == "filter":
        if not FILTER_ID.fullmatch(word):
            raise _Bad(
                f"Name the saved filter by its id, e.g. `filter 10042` (got `{echo(word)}`)."
            )
        return {"key": word}
    if kind == "release":
        return {"key": _release_name(word)}
    if not LABEL.fullmatch(word):
        raise _Bad(f"Name the label, e.g. `label release-2.3` (got `{echo(word)}`).")
    return {"key": word}


def scope_words(kind: str, key: str) -> str:
    """How a person names the scope in a command: ``release 2.3``, ``release "Mobile 2.3"``."""
    return f'{kind} "{key}"' if kind == "release" and not LABEL.fullmatch(key) else f"{kind} {key}"


def _release_name(word: str) -> str:
    """A release's name: one word like a label, or any name in double quotes."""
    name = word.strip() if isinstance(word, _Quoted) else word
    if isinstance(word, _Quoted) and name and len(name) <= MAX_QUOTED_CHARS:
        return name
    if not isinstance(word, _Quoted) and LABEL.fullmatch(word):
        return word
    raise _Bad(
        "Name the release in one word, e.g. `release 2.3`, or in double quotes, e.g. "
        f'`release "Mobile 2.3"` (got `{echo(word)}`).'
    )


def _levers(args: list[str]) -> dict[str, object]:
    """``freeze``, ``cut N``, ``throughput ±N%`` and ``by YYYY-MM-DD``, in any order, once each."""
    seen: set[str] = set()
    freeze, cut, factor, target = False, 0, 1.0, None
    while args:
        word = args.pop(0).lower()
        if word in seen:
            raise _Bad(f"Give `{echo(word)}` once.")
        seen.add(word)
        if word == "freeze":
            freeze = True
        elif word == "cut":
            if not args or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_FORECAST_ITEMS:
                raise _Bad(f"After `cut`, give a number of items from 1 to {MAX_FORECAST_ITEMS}.")
            cut = int(args.pop(0))
        elif word == "throughput":
            factor = _throughput_factor(args.pop(0) if args else "")
        elif word == "by":
            target = _day(args.pop(0) if args else "", "by")
        else:
            args.insert(0, word)
            _no_more(args)
    levers = Levers(freeze_scope=freeze, cut=cut, throughput_factor=factor)
    return {"target": target, "levers": None if levers == Levers() else levers}


def _throughput_factor(word: str) -> float:
    """``+20%`` -> 1.2, ``-20%`` -> 0.8; between -99% and +500%."""
    match = THROUGHPUT_CHANGE.fullmatch(word)
    change = int(match.group(2)) * (-1 if match.group(1) == "-" else 1) if match else None
    if change is None or not -99 <= change <= MAX_THROUGHPUT_CHANGE or change == 0:
        raise _Bad(
            "After `throughput`, give a change like `+20%` or `-20%` "
            f"(from -99% to +{MAX_THROUGHPUT_CHANGE}%, not 0)."
        )
    return 1 + change / 100


def _chart(args: list[str]) -> dict[str, object]:
    kind = args.pop(0).lower() if args else ""
    if kind not in CHART_KINDS:
        raise _Bad(f"Choose a chart: {', '.join(CHART_KINDS)}.")
    if kind == "forecast" and args and args[0].lower() in ("when", "by"):
        return {"chart": kind, **_forecast(args)}
    if kind in SCOPE_CHARTS:
        return {"chart": kind, **_chart_scope(kind, args)}
    if kind in ITEM_CHARTS:
        return {"chart": kind, **_item_key(args)}
    return {"chart": kind, **_optional_window(args)}


def _chart_scope(kind: str, args: list[str]) -> dict[str, object]:
    """The scope of a scope chart (``release 2.3``); none: the team's first tracked one."""
    if not args:
        return {}
    fields = _scope(args, f"chart {kind} release 2.3")
    _no_more(args)
    return fields


def _track(args: list[str]) -> dict[str, object]:
    """``track KIND KEY [by YYYY-MM-DD]``; ``track`` alone lists the tracked scopes."""
    if not args:
        return {}
    fields = _scope(args, "track release 2.3 by 2027-01-15")
    target = None
    if args and args[0].lower() == "by":
        args.pop(0)
        target = _day(args.pop(0) if args else "", "by")
    _no_more(args)
    return {**fields, "target": target}


def _untrack(args: list[str]) -> dict[str, object]:
    """``untrack KIND KEY``."""
    fields = _scope(args, "untrack release 2.3")
    _no_more(args)
    return fields


def read_item_key(word: str) -> str | None:
    """The item key ``word`` names (``pay-12`` -> ``PAY-12``, ``acme/api#7``), None if none."""
    if TRACKER_KEY.fullmatch(word):
        return word.upper()
    return word if REVIEW_KEY.fullmatch(word) else None


def _item_key(args: list[str]) -> dict[str, object]:
    if not args:
        raise _Bad("Name the item to trace, e.g. `trace PAY-12`.")
    word = args.pop(0)
    key = read_item_key(word)
    if key is None:
        raise _Bad(
            f"`{echo(word)}` is not an item key; name a work item like `PAY-12` or a pull "
            "request like `acme/api#7`."
        )
    _no_more(args)
    return {"key": key}


def _hhmm(word: str) -> str:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", word)
    if not match:
        raise _Bad(f"`{echo(word)}` is not a time; write it as HH:MM (24-hour), e.g. 09:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _weekday(word: str) -> str:
    lowered = word.lower()
    for short, full in zip(WEEKDAYS, FULL_WEEKDAYS, strict=True):
        if lowered in (short, full):
            return short
    raise _Bad(f"`{echo(word)}` is not a day; use mon, tue, wed, thu, fri, sat or sun.")


def _subscribe(args: list[str]) -> dict[str, object]:
    if args and args[0].lower() == "digest":
        args.pop(0)
    kind = args.pop(0).lower() if args else ""
    if kind == "daily":
        if not args:
            raise _Bad("Give the time, e.g. `subscribe digest daily 09:30`.")
        at = _hhmm(args.pop(0))
        _no_more(args)
        return {"kind": "daily", "at": at}
    if kind == "weekly":
        if len(args) < 2:
            raise _Bad("Give the day and time, e.g. `subscribe digest weekly mon 09:00`.")
        weekday = _weekday(args.pop(0))
        at = _hhmm(args.pop(0))
        _no_more(args)
        return {"kind": "weekly", "weekday": weekday, "at": at}
    raise _Bad("Choose `daily HH:MM` or `weekly DAY HH:MM`.")


def _unsubscribe(args: list[str]) -> dict[str, object]:
    if args and args[0].lower() == "digest":
        args.pop(0)
    kind = None
    if args and args[0].lower() in ("daily", "weekly"):
        kind = args.pop(0).lower()
    _no_more(args)
    return {"kind": kind}


def _alerts(args: list[str]) -> dict[str, object]:
    state = args.pop(0).lower() if args else None
    if state is not None and state not in ("on", "off"):
        raise _Bad("Say `alerts` (what the alerts would send), `alerts on` or `alerts off`.")
    _no_more(args)
    return {"enabled": None if state is None else state == "on"}


def _me(args: list[str]) -> dict[str, object]:
    state = args.pop(0).lower() if args and args[0].lower() in ("on", "off") else None
    if args:
        raise _Bad(
            f"I did not understand `{echo(' '.join(args))}`. Say `me` (a team may follow), "
            "`me on` or `me off`."
        )
    return {"enabled": None if state is None else state == "on"}


def _mute(args: list[str]) -> dict[str, object]:
    detector = args.pop(0).lower() if args else ""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", detector):
        raise _Bad("Name the detector to mute, e.g. `mute stale_item 7`.")
    days = None
    if args:
        if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_WINDOW_DAYS:
            raise _Bad(f"DAYS must be a whole number from 1 to {MAX_WINDOW_DAYS}.")
        days = int(args.pop(0))
    _no_more(args)
    return {"detector": detector, "days": days}


_PARSERS = {
    "help": _help,
    "flow": _optional_window,
    "aging": _nothing,
    "blocked": _nothing,
    "prs": _nothing,
    "dora": _optional_window,
    "forecast": _forecast,
    "chart": _chart,
    "map": _optional_window,
    "trace": _item_key,
    "status": _nothing,
    "me": _me,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "alerts": _alerts,
    "mute": _mute,
    "track": _track,
    "untrack": _untrack,
}
