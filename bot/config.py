"""Load and validate app.yaml: environment expansion, pydantic models, errors that name the field.

``${VAR}`` and ``${VAR:-default}`` are expanded from the environment before validation, so secrets
never live in the file. Any problem raises :class:`ConfigError` whose lines each name the field
path (``teams[0].sources[1].jql``), the bad value and what was expected; the CLI prints them and
exits with status 2.

A problem never shows the value of an unknown key (a mistyped ``bot_tokn:`` is likely a secret),
nor a value taken from the environment: that is named by its ``${VAR}`` instead. The file is read
strictly: it must be UTF-8, a mapping may not repeat a key (YAML would keep the last one silently),
and aliases may not expand it beyond :data:`MAX_EXPANDED_NODES` values (a "billion laughs" file of
a few hundred bytes would otherwise take gigabytes). Aliases are capped rather than banned: sharing
one ``workflow:`` between teams with ``&flow``/``*flow`` is a fair use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from insights.agreements import Agreements
from insights.model import Stage
from insights.scope_refs import SCOPE_KINDS, ScopeRef
from insights.stream_events import EVENTS, STATUS_PREFIX, is_status_event, status_event
from insights.value_stream import StreamStep
from insights.workflow import Workflow
from integrations.base import SourceConfig
from integrations.registry import plugins
from storage.tables import TEAM_NAME_MAX_LENGTH

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_EXPANDED_NODES = 100_000
"""Values app.yaml may hold with its aliases expanded; a large real file holds a few thousand."""
MERGE_TAG = "tag:yaml.org,2002:merge"
ENV_NOTE = " (values from the environment are not shown)"


class ConfigError(Exception):
    """app.yaml is invalid; ``problems`` holds one human-readable line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/London' or 'UTC'"
        ) from None
    return name


def _check_hhmm(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"expected a time as HH:MM (24-hour), got {value!r}")
    return value


def _check_weekly(value: str) -> str:
    parts = value.lower().split()
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
        raise ValueError(f"expected 'DAY HH:MM' such as 'mon 09:00', got {value!r}")
    _check_hhmm(parts[1])
    return f"{parts[0][:3]} {parts[1]}"


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
HHMM = Annotated[str, AfterValidator(_check_hhmm)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingHours(_Strict):
    """When the team works; alerts wait for these hours."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class QuietHours(_Strict):
    """A span (may cross midnight) in which nothing is posted."""

    start: time
    end: time


class DigestSchedule(_Strict):
    """Default digest times in the team's time zone (Slack subscriptions can add more)."""

    daily: HHMM | None = None
    weekly: Annotated[str, AfterValidator(_check_weekly)] | None = None
    skip_when_nothing_new: bool = True
    """Post no daily digest when nothing changed since the last one and nothing is in focus."""


STREAM_EVENTS_HELP = ", ".join([*EVENTS[:2], "'status: <a workflow status>'", *EVENTS[2:]])


def _check_event(value: str) -> str:
    """A boundary event of a value stream step, as :mod:`insights.stream_events` names it."""
    text = value.strip()
    head, colon, status = text.partition(":")
    if colon and head.strip().lower() == STATUS_PREFIX.rstrip(":") and status.strip():
        return status_event(status.strip())
    if text.lower() in EVENTS:
        return text.lower()
    raise ValueError(f"unknown event; use one of {STREAM_EVENTS_HELP}")


StreamEvent = Annotated[str, AfterValidator(_check_event)]


class StreamStepConfig(_Strict):
    """One step of ``value_stream:``: from one boundary event to the next."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    start: Annotated[StreamEvent, Field(alias="from")]
    end: Annotated[StreamEvent, Field(alias="to")]


class ScopeConfig(_Strict):
    """One scope the team tracks (``scopes:``): an epic, a label, a release or a saved filter.

    ``release`` is a Jira fix version or a GitHub/GitLab milestone, by name; ``filter`` a saved
    Jira filter, by id (the Jira source reads its issues when listed in its ``filters``). Without a
    ``target``, a release's date and an epic's due date at the vendor are the target.
    """

    epic: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    label: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    release: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    filter: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,18}$")] | None = None
    target: date | None = None
    """The date the scope should be done by (``scope_at_risk`` watches scopes with one)."""
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    @field_validator("filter", mode="before")
    @classmethod
    def _filter_id(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_kind(self) -> ScopeConfig:
        named = [kind for kind in SCOPE_KINDS if getattr(self, kind) is not None]
        if len(named) != 1:
            raise ValueError(
                f"a scope names exactly one of {', '.join(SCOPE_KINDS)}; got "
                + (", ".join(named) if named else "none")
            )
        if not str(getattr(self, named[0])).strip():
            raise ValueError(f"the {named[0]} of a scope must not be blank")
        return self

    def ref(self) -> ScopeRef:
        """The scope as :mod:`insights.scopes` reads it."""
        kind = next(kind for kind in SCOPE_KINDS if getattr(self, kind) is not None)
        return ScopeRef(kind, str(getattr(self, kind)).strip(), self.target, self.name or "")


class TeamConfig(_Strict):
    """One value stream: where its data comes from and where to talk to it."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=TEAM_NAME_MAX_LENGTH)]
    channel: str | None = None
    timezone: TimeZoneName | None = None
    working_hours: WorkingHours = WorkingHours()
    quiet_hours: QuietHours | None = None
    digest: DigestSchedule = DigestSchedule()
    projects: tuple[str, ...] = ()
    sources: tuple[Any, ...] = ()
    workflow: dict[str, Stage] = Field(default_factory=dict)
    agreements: Agreements = Agreements()
    admins: tuple[str, ...] = ()
    holidays: tuple[date, ...] = ()
    """Days off (ISO dates) that working-time ages people read leave out, like weekends."""
    value_stream: tuple[StreamStepConfig, ...] = ()
    """The steps of the team's value stream map, in order; empty for the default stream
    (:func:`insights.value_stream.default_steps`)."""
    scopes: tuple[ScopeConfig, ...] = ()
    """The epics and labels (releases) the team tracks: forecast in the report, watched by
    ``scope_at_risk`` when they have a target date."""

    def make_workflow(self) -> Workflow:
        """A fresh :class:`Workflow` for one sync (it records unmapped statuses)."""
        return Workflow(dict(self.workflow))

    def workflow_order(self) -> list[tuple[str, Stage]]:
        """The workflow's statuses in board order, each with its stage."""
        return list(self.workflow.items())

    def stream_steps(self) -> tuple[StreamStep, ...]:
        """The configured value stream steps, or () for the default stream.

        A status is spelled as the workflow spells it.
        """
        spelled = {status.lower(): status for status in self.workflow}

        def event(name: str) -> str:
            if not is_status_event(name):
                return name
            status = name.removeprefix(STATUS_PREFIX)
            return status_event(spelled.get(status.lower(), status))

        return tuple(
            StreamStep(step.name, event(step.start), event(step.end)) for step in self.value_stream
        )

    def scope_refs(self) -> tuple[ScopeRef, ...]:
        """The tracked scopes, in the configured order."""
        return tuple(scope.ref() for scope in self.scopes)

    @property
    def zone(self) -> ZoneInfo:
        """The team's time zone."""
        return ZoneInfo(self.timezone or "UTC")

    def source_configs(self) -> list[SourceConfig]:
        """The validated source sections."""
        return list(self.sources)


class PersonConfig(_Strict):
    """One person across tools, so a finding can mention whoever can act on it in Slack.

    ``jira``, ``github`` and ``gitlab`` list the names the sources record for this person
    (Jira display name, account id or e-mail; GitHub or GitLab login). ``slack`` is the Slack user
    id; without it the bot looks the person up by ``email`` (``users.lookupByEmail``).
    """

    name: Annotated[str, Field(min_length=1, max_length=200)]
    slack: Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")] | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)] | None = None
    jira: tuple[str, ...] = ()
    github: tuple[str, ...] = ()
    gitlab: tuple[str, ...] = ()


class SlackConfig(_Strict):
    """Slack credentials (from the environment) and who administers the bot."""

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    encryption_key: SecretStr | None = None
    """Comma-separated Fernet keys for OAuth tokens at rest: the first encrypts, all decrypt."""
    api_url: str = "https://slack.com/api/"
    admins: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: (None if v == "" else v) for k, v in data.items()}
        return data


class AppConfig(_Strict):
    """The whole deployment: database, Slack and the teams."""

    timezone: TimeZoneName = "UTC"
    database: str = "sqlite:///vsm.db"
    slack: SlackConfig = SlackConfig()
    teams: tuple[TeamConfig, ...] = ()
    people: tuple[PersonConfig, ...] = ()
    """People across tools (see :class:`PersonConfig`); matching by e-mail fills the gaps."""

    @model_validator(mode="after")
    def _defaults_and_uniqueness(self) -> AppConfig:
        if not self.teams:
            raise ValueError("at least one team is needed under 'teams:'")
        names = [t.name for t in self.teams]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"team names must be unique; repeated: {', '.join(duplicates)}")
        teams = tuple(
            t if t.timezone else t.model_copy(update={"timezone": self.timezone})
            for t in self.teams
        )
        object.__setattr__(self, "teams", teams)
        return self

    def team(self, name: str | None) -> TeamConfig:
        """The named team, or the only one when ``name`` is None."""
        if name is None:
            if len(self.teams) == 1:
                return self.teams[0]
            raise KeyError(
                "several teams are configured; choose one with --team "
                f"({', '.join(t.name for t in self.teams)})"
            )
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(
            f"no team named {name!r}; configured: {', '.join(t.name for t in self.teams)}"
        )

    def teams_named(self, name: str | None) -> list[TeamConfig]:
        """All teams, or the one named."""
        return list(self.teams) if name is None else [self.team(name)]


@dataclass(frozen=True)
class EnvValue:
    """A string of app.yaml that took (part of) its value from the environment."""

    path: str
    written: str
    """As the file has it, such as ``${TEAM_TZ}`` or ``https://${JIRA_HOST}/``."""
    value: Any
    variables: tuple[tuple[str, str], ...]
    """Each variable used, with the value it gave."""

    def disguises(self) -> dict[str, str]:
        """Each text that would reveal the value, mapped to what a problem shows instead."""
        shown = {text: f"${{{name}}}" for name, text in self.variables}
        shown[str(self.value)] = self.written
        for read in (int, float):  # validation may turn "-0.25e2" into -25.0
            with suppress(ValueError, OverflowError):
                shown.setdefault(str(read(str(self.value))), self.written)
        escaped = {repr(text)[1:-1]: mask for text, mask in shown.items()}
        return {text: mask for text, mask in {**escaped, **shown}.items() if text}


def expand_env(
    node: Any,
    env: Mapping[str, str],
    path: str = "",
    found: list[EnvValue] | None = None,
) -> Any:
    """Expand ``${VAR}``/``${VAR:-default}`` in every string of a parsed YAML tree.

    Each string given a value by the environment is appended to ``found`` (when given), so
    errors can hide it.
    """
    if isinstance(node, dict):
        return {k: expand_env(v, env, _join(path, str(k)), found) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v, env, f"{path}[{i}]", found) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    used: list[tuple[str, str]] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            used.append((name, env[name]))
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            "app.yaml",
            [
                f"{path or '<root>'}: environment variable {name} is not set; export it, "
                f"or write ${{{name}:-default}} to give a default"
            ],
        )

    expanded = ENV_PATTERN.sub(substitute, node)
    value = (
        _coerce_scalar(expanded) if expanded != node and ENV_PATTERN.fullmatch(node) else expanded
    )
    if used and found is not None:
        found.append(EnvValue(path, node, value, tuple(used)))
    return value


def _coerce_scalar(text: str) -> Any:
    """A value that was only ``${VAR}`` becomes the YAML scalar it spells (number, bool)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | bool) else text


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _format_loc(loc: tuple[int | str, ...], source_types: set[str]) -> str:
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and part in source_types:
            pass  # pydantic adds the discriminator tag of a source; users never wrote it
        else:
            path = _join(path, part)
        previous = part
    return path or "<root>"


SECRET_NAMES = re.compile(r"token|secret|password|key", re.I)


def _shown(path: str, value: Any) -> str:
    """How a bad value appears in an error: never a whole section, never a secret."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if SECRET_NAMES.search(path.rsplit(".", 1)[-1]) and value not in (None, ""):
        return "<hidden>"
    return repr(value)


def _describe(error: Mapping[str, Any], source_types: set[str]) -> tuple[str, str]:
    """The field path of a pydantic error, and what to say about it."""
    path = _format_loc(tuple(error["loc"]), source_types)
    kind = error["type"]
    if kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        return path, "unknown field; remove it or check its spelling"  # its value may be a secret
    if kind == "missing":
        return path, "required field is missing"
    value = _shown(path, error.get("input"))
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        return path, f"source type {value} is not known; expected one of: " + ", ".join(
            sorted(source_types)
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    return path, f"got {value}; {message[:1].lower()}{message[1:]}"


def _problem(path: str, detail: str, found: Sequence[EnvValue]) -> str:
    """``path: detail``, where every value the environment gave to that branch is disguised."""
    branch = "" if path == "<root>" else path
    masks: dict[str, str] = {}
    for env_value in found:
        if _same_branch(env_value.path, branch):
            masks.update(env_value.disguises())
    if not masks:
        return f"{path}: {detail}"
    pattern = "|".join(_whole(text) for text in sorted(masks, key=len, reverse=True))
    hidden, count = re.subn(pattern, lambda match: masks[match.group(0)], detail)
    return f"{path}: {hidden}{ENV_NOTE if count else ''}"


def _whole(text: str) -> str:
    """A pattern for ``text`` that does not match inside a longer word or number."""
    before = r"(?<!\w)" if re.match(r"\w", text) else ""
    after = r"(?!\w)" if re.match(r"\w", text[-1]) else ""
    return f"{before}{re.escape(text)}{after}"


def _same_branch(path: str, other: str) -> bool:
    """Whether one path lies within the other (``a.b[0]`` within ``a.b``; all within ``''``)."""
    inner, outer = (path, other) if len(path) >= len(other) else (other, path)
    return not outer or inner == outer or inner.startswith((f"{outer}.", f"{outer}["))


def parse_config(
    data: Any, source: str = "app.yaml", env: Mapping[str, str] | None = None
) -> AppConfig:
    """Validate a parsed app.yaml tree (after environment expansion) into an AppConfig."""
    environment = os.environ if env is None else env
    if not isinstance(data, dict):
        raise ConfigError(source, ["<root>: expected a mapping with a 'teams' list"])
    found: list[EnvValue] = []
    try:
        expanded = expand_env(data, environment, found=found)
    except ConfigError as exc:
        raise ConfigError(source, exc.problems) from None
    source_types = set(plugins())
    try:
        config = AppConfig.model_validate(expanded)
    except ValidationError as exc:
        problems = [_problem(*_describe(e, source_types), found) for e in exc.errors()]
        raise ConfigError(source, problems) from None
    teams = []
    problems = []
    for t_index, team in enumerate(config.teams):
        validated = []
        for s_index, raw in enumerate(team.sources):
            path = f"teams[{t_index}].sources[{s_index}]"
            try:
                validated.append(_validate_source(raw, source_types))
            except ValidationError as exc:
                for e in exc.errors():
                    loc = ("teams", t_index, "sources", s_index, *e["loc"])
                    problems.append(_problem(*_describe({**e, "loc": loc}, source_types), found))
            except ValueError as exc:
                problems.append(_problem(path, str(exc), found))
        problems += [_problem(p, detail, found) for p, detail in _stream_problems(t_index, team)]
        scope_problems = _scope_problems(t_index, team, validated)
        problems += [_problem(p, detail, found) for p, detail in scope_problems]
        teams.append(team.model_copy(update={"sources": tuple(validated)}))
    if problems:
        raise ConfigError(source, problems)
    object.__setattr__(config, "teams", tuple(teams))
    return config


def _stream_problems(t_index: int, team: TeamConfig) -> Iterator[tuple[str, str]]:
    """``(path, problem)`` of a team's ``value_stream:`` that each step alone cannot tell.

    A status must be one of the team's workflow; names are unique; a step ends at another event
    than it starts; and each step starts where the previous one ended, so the stream's lead time
    is the sum of its steps' (no gap left out, no span counted twice).
    """
    statuses = {status.lower() for status in team.workflow}
    names: set[str] = set()
    previous: str | None = None
    for index, step in enumerate(team.value_stream):
        path = f"teams[{t_index}].value_stream[{index}]"
        for field, event in (("from", step.start), ("to", step.end)):
            status = event.removeprefix(STATUS_PREFIX)
            if is_status_event(event) and status.lower() not in statuses:
                yield (
                    f"{path}.{field}",
                    f"status {status!r} is not in the team's workflow; use one of "
                    + ", ".join(team.workflow),
                )
        if step.name.lower() in names:
            yield f"{path}.name", f"got {step.name!r}; step names must be unique"
        names.add(step.name.lower())
        if step.start == step.end:
            yield f"{path}.to", f"got {step.end!r}; a step must end at another event than it starts"
        if previous is not None and step.start.lower() != previous.lower():
            yield (
                f"{path}.from",
                f"got {step.start!r}; a step starts where the previous one ended ({previous!r})",
            )
        previous = step.end


def _scope_problems(
    t_index: int, team: TeamConfig, sources: Sequence[SourceConfig]
) -> Iterator[tuple[str, str]]:
    """``(path, problem)`` of each scope tracked twice or never readable.

    One card per scope needs one entry; a saved filter no source of the team reads would never
    have issues.
    """
    seen: set[tuple[str, str]] = set()
    read = {str(f) for source in sources for f in getattr(source, "filters", ())}
    for index, ref in enumerate(team.scope_refs()):
        path = f"teams[{t_index}].scopes[{index}]"
        if (ref.kind, ref.key) in seen:
            yield path, f"{ref.name} is already tracked"
        seen.add((ref.kind, ref.key))
        if ref.kind == "filter" and ref.key not in read:
            yield (
                f"{path}.filter",
                f"no jira source of the team reads filter {ref.key}; "
                f"add {ref.key} to that source's filters",
            )


def _validate_source(raw: Any, source_types: set[str]) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ValueError(f"expected a mapping with a 'type' field, got {raw!r}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in source_types:
        raise ValueError(f"type: got {kind!r}; expected one of: {', '.join(sorted(source_types))}")
    return plugins()[kind].config.model_validate(raw)


class Refused(yaml.YAMLError):
    """app.yaml is YAML, but vsm-bot refuses it: ``message`` says why and what to do."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing repeated keys and aliases that expand without bound."""

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:  # a str (stubs disagree)
        """The mapping, once none of its keys is repeated (merge keys ``<<`` may override)."""
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        first_seen: dict[tuple[str, Any], yaml.Mark] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
                continue
            first = first_seen.setdefault((key.tag, key.value), key.start_mark)
            if first is not key.start_mark:
                raise Refused(
                    key.start_mark,
                    f"key {key.value!r} appears twice in this mapping (first on line "
                    f"{first.line + 1}); YAML keeps only the last, so merge them into one",
                )
        return node

    def get_single_node(self) -> yaml.Node | None:
        """The document's root, once its size with every alias expanded is known to be sane."""
        node: yaml.Node | None = super().get_single_node()
        if node is not None:
            _expanded_size(node, {}, set())
        return node


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes ``node`` stands for once aliases are expanded, counted once per distinct node."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise Refused(
            node.start_mark,
            "this section contains an alias to itself; app.yaml cannot be recursive",
        )
    open_nodes.add(id(node))
    total = 1 + sum(_expanded_size(child, sizes, open_nodes) for child in _children(node))
    open_nodes.discard(id(node))
    if total > MAX_EXPANDED_NODES:
        raise Refused(
            node.start_mark,
            f"this section expands to more than {MAX_EXPANDED_NODES:,} values through its "
            "aliases (*name); an app.yaml needs a few thousand, so write it with fewer aliases",
        )
    sizes[id(node)] = total
    return total


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _at(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def read_yaml(text: str) -> Any:
    """Parse app.yaml's text with :class:`StrictLoader` (safe: plain data only)."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _read_text(path: Path) -> str:
    """The file's text; a ConfigError when it is missing, unreadable or not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["file not found; create it (see the README) or pass --config"]
        ) from None
    except OSError as exc:
        raise ConfigError(
            str(path), [f"cannot read it ({exc.strerror}); pass the path of a readable file"]
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [_not_utf8(exc)]) from None


def _not_utf8(exc: UnicodeDecodeError) -> str:
    """Where the first byte that is not UTF-8 is, and how to fix the file."""
    data, start = exc.object, exc.start
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    return (
        f"line {line}, column {column}: byte 0x{data[start]:02x} "
        "is not UTF-8; app.yaml must be saved as UTF-8 (re-save it as UTF-8 in your editor, "
        "or convert it with iconv -f <its encoding> -t UTF-8)"
    )


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read, expand and validate an app.yaml file."""
    path = Path(path)
    text = _read_text(path)
    try:
        data = read_yaml(text)
    except Refused as exc:
        raise ConfigError(str(path), [f"{_at(exc.mark)}{exc.message}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            str(path), [f"{_at(mark)}not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from None
    except RecursionError:
        raise ConfigError(
            str(path), ["sections are nested too deeply; app.yaml needs a handful of levels"]
        ) from None
    return parse_config(data, str(path), env)
