"""The one small interface every source implements, and what a source is given to build itself.

A source is built from its app.yaml section (a pydantic model declared next to the source) and a
:class:`SourceContext`. ``pull(cursor)`` yields :class:`~insights.model.Page` objects, each carrying
the cursor that is safe to resume from once that page is stored. ``dry_run()`` counts what a pull
would fetch without storing anything (``vsm check-config``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from insights.model import Page
from insights.workflow import Workflow


class SourceError(RuntimeError):
    """A source gave up: the message names the source and says what to do.

    ``status`` is the HTTP status of the vendor's answer when the error is one (404, 422...), so
    a source can treat a specific answer as expected without parsing the message.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SourceConfig(BaseModel):
    """Base of every source's app.yaml section; ``type`` selects the source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str | None = None
    webhook_secret: SecretStr | None = None
    """What the vendor signs its webhooks with (``POST /webhooks/<name>``); None: no webhook."""

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        # Wrapped before validation so an error never echoes it; ``${VAR:-}`` left blank is unset.
        if isinstance(value, str):
            return SecretStr(value) if value.strip() else None
        return value

    def display_name(self) -> str:
        """The name used in cursors, logs and ``/vsm status`` (defaults to the type)."""
        return self.name or self.type

    def rate_limit_group(self) -> str:
        """Sources in the same group share a vendor rate limit, so they never sync at once.

        The group is the source type and its API host (``url`` or ``api_url`` when it has one).
        """
        host = getattr(self, "url", None) or getattr(self, "api_url", None) or ""
        return f"{self.type}:{str(host).rstrip('/')}"


@dataclass
class SourceContext:
    """What the composition root hands a source besides its own config."""

    team: str
    workflow: Workflow
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    project_keys: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)


class Source(Protocol):
    """A configured data source of one team."""

    kind: ClassVar[str]

    def pull(self, cursor: str | None) -> Iterator[Page]:
        """Yield pages after ``cursor`` (None: from the beginning)."""
        ...

    def dry_run(self) -> dict[str, int]:
        """Count what a full pull would fetch, storing nothing."""
        ...
