"""Load and validate app.yaml: environment expansion, pydantic models, errors that name the field.

``${VAR}`` and ``${VAR:-default}`` are expanded from the environment before validation, so secrets
never live in the file. Any problem raises :class:`ConfigError` whose lines each name the field
path (``teams[0].sources[1].jql``), the bad value and what was expected; the CLI prints them and
exits with status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import time
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
    model_validator,
)

from insights.agreements import Agreements
from insights.model import Stage
from insights.workflow import Workflow
from integrations.base import SourceConfig
from integrations.registry import plugins

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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


class TeamConfig(_Strict):
    """One value stream: where its data comes from and where to talk to it."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
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

    def make_workflow(self) -> Workflow:
        """A fresh :class:`Workflow` for one sync (it records unmapped statuses)."""
        return Workflow(dict(self.workflow))

    @property
    def zone(self) -> ZoneInfo:
        """The team's time zone."""
        return ZoneInfo(self.timezone or "UTC")

    def source_configs(self) -> list[SourceConfig]:
        """The validated source sections."""
        return list(self.sources)


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


def expand_env(node: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Expand ``${VAR}``/``${VAR:-default}`` in every string of a parsed YAML tree."""
    if isinstance(node, dict):
        return {k: expand_env(v, env, _join(path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v, env, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
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
    return (
        _coerce_scalar(expanded) if expanded != node and ENV_PATTERN.fullmatch(node) else expanded
    )


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


def _describe(error: Mapping[str, Any], source_types: set[str]) -> str:
    path = _format_loc(tuple(error["loc"]), source_types)
    kind = error["type"]
    value = _shown(path, error.get("input"))
    if kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        return f"{path}: unknown field; remove it or check its spelling (value {value})"
    if kind == "missing":
        return f"{path}: required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        return f"{path}: source type {value} is not known; expected one of: " + ", ".join(
            sorted(source_types)
        )
    return f"{path}: got {value}; {message}"


def parse_config(
    data: Any, source: str = "app.yaml", env: Mapping[str, str] | None = None
) -> AppConfig:
    """Validate a parsed app.yaml tree (after environment expansion) into an AppConfig."""
    environment = os.environ if env is None else env
    if not isinstance(data, dict):
        raise ConfigError(source, ["<root>: expected a mapping with a 'teams' list"])
    try:
        expanded = expand_env(data, environment)
    except ConfigError as exc:
        raise ConfigError(source, exc.problems) from None
    source_types = set(plugins())
    problems: list[str] = []
    try:
        config = AppConfig.model_validate(expanded)
    except ValidationError as exc:
        problems.extend(_describe(e, source_types) for e in exc.errors())
        raise ConfigError(source, problems) from None
    teams = []
    for t_index, team in enumerate(config.teams):
        validated = []
        for s_index, raw in enumerate(team.sources):
            try:
                validated.append(_validate_source(raw, source_types))
            except ValidationError as exc:
                for e in exc.errors():
                    loc = ("teams", t_index, "sources", s_index, *e["loc"])
                    problems.append(_describe({**e, "loc": loc}, source_types))
            except ValueError as exc:
                problems.append(f"teams[{t_index}].sources[{s_index}]: {exc}")
        teams.append(team.model_copy(update={"sources": tuple(validated)}))
    if problems:
        raise ConfigError(source, problems)
    object.__setattr__(config, "teams", tuple(teams))
    return config


def _validate_source(raw: Any, source_types: set[str]) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ValueError(f"expected a mapping with a 'type' field, got {raw!r}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in source_types:
        raise ValueError(f"type: got {kind!r}; expected one of: {', '.join(sorted(source_types))}")
    return plugins()[kind].config.model_validate(raw)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read, expand and validate an app.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["file not found; create it (see the README) or pass --config"]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(
            str(path), [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]
        ) from None
    return parse_config(data, str(path), env)
