"""The ``type: jira`` section of app.yaml: where the Jira is, what to pull and how to log in."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from integrations.base import SourceConfig

SECRET_FIELDS = ("api_token", "token")


class Config(SourceConfig):
    """A Jira site: Cloud (``email`` + ``api_token``) or Data Center (``token``, a PAT)."""

    type: Literal["jira"] = "jira"
    url: str
    jql: str | None = None
    project: str | None = None
    email: str | None = None
    api_token: SecretStr | None = None
    token: SecretStr | None = None
    story_points_field: str | None = None
    deployment: Literal["auto", "cloud", "datacenter"] = "auto"
    page_size: int = Field(default=1000, ge=2, le=5000)
    overlap_minutes: int = Field(default=5, ge=0, le=1440)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    filters: tuple[str, ...] = ()
    """Saved filter ids (the number in ``/issues/?filter=10010``): each sync reads their issues."""

    @model_validator(mode="before")
    @classmethod
    def _mask_secrets(cls, data: Any) -> Any:
        # Validation errors echo their input; wrapping the secrets first keeps them out of
        # every error message. Blank values (``${JIRA_TOKEN:-}``) count as unset.
        if isinstance(data, dict):
            for name in SECRET_FIELDS:
                value = data.get(name)
                if isinstance(value, str):
                    data[name] = SecretStr(value) if value.strip() else None
            if isinstance(data.get("email"), str) and not data["email"].strip():
                data["email"] = None
        return data

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "expected the base URL of the Jira site, such as https://acme.atlassian.net"
            )
        return value.rstrip("/")

    @field_validator("filters", mode="before")
    @classmethod
    def _check_filters(cls, value: Any) -> Any:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise ValueError("filters must be a list of saved filter ids, such as [10010]")
        ids = []
        for entry in value:
            text = str(entry).strip() if isinstance(entry, str | int) else ""
            if isinstance(entry, bool) or not text.isascii() or not text.isdigit():
                raise ValueError(
                    f"filters: {str(entry)[:40]!r} is not a saved filter id; give the number "
                    "Jira shows in the filter's address (/issues/?filter=10010)"
                )
            ids.append(str(int(text)))
        return tuple(dict.fromkeys(ids))

    @model_validator(mode="after")
    def _check_choices(self) -> Config:
        if self.jql is not None and self.project is not None:
            raise ValueError("give either jql or project, not both (put the project in the jql)")
        basic = self.email is not None or self.api_token is not None
        if basic and self.token is not None:
            raise ValueError("use email + api_token (Jira Cloud) or token (Data Center), not both")
        if basic and (self.email is None or self.api_token is None):
            missing = "email" if self.email is None else "api_token"
            raise ValueError(f"Jira Cloud login needs email and api_token; {missing} is missing")
        if not basic and self.token is None:
            raise ValueError(
                "no credentials: set email + api_token (Jira Cloud, e.g. api_token: "
                "${JIRA_API_TOKEN}) or token (Data Center personal access token)"
            )
        return self
