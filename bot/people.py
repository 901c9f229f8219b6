"""People across tools: who a finding's names (Jira assignee, GitHub login...) are in Slack.

A finding names who can act as the sources record them (:attr:`insights.findings.Finding.people`).
:class:`People` maps such a name to a Slack user id: first from app.yaml ``people:`` (any of a
person's names, its Slack id given), then through ``lookup`` (an e-mail to a Slack user, e.g.
``users.lookupByEmail``) for a person listed with an e-mail but no Slack id, or a name that is an
e-mail itself. Names compare case-insensitively. :meth:`People.who` words the mention a card or a
digest line shows.

:class:`EmailLookup` is that lookup: Slack's ``users.lookupByEmail`` (scope ``users:read.email``,
rate tier 3) behind the database cache of :mod:`storage.people`. An answer is fresh for
:data:`FOUND_FRESH`, a "no such user" (``users_not_found``) for :data:`NOT_FOUND_FRESH`; a Slack
error never fails the card that asked: it keeps the last answer, or none (not mapped), is
logged by its error code only, and pauses that address's lookups for :data:`RETRY_AFTER_ERROR`.
:func:`names_in` lists the names a team's data uses for people.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import PersonConfig
from bot.slack.answering.blocks import escape
from bot.slack.delivering.client import NoTokenError
from insights.findings import ASSIGNEE, AUTHOR, REVIEWER, Finding
from insights.model import ItemKind, Snapshot
from storage.people import cached_lookup, save_lookup

log = logging.getLogger(__name__)
Lookup = Callable[[str], "str | None"]
"""An e-mail address to a Slack user id (None when Slack knows no such user)."""
FOUND_FRESH = timedelta(days=7)
"""How long a user id found by e-mail is trusted before Slack is asked again."""
NOT_FOUND_FRESH = timedelta(days=1)
"""How long "Slack has no user with this e-mail" is trusted (people join, e-mails change)."""
RETRY_AFTER_ERROR = timedelta(minutes=15)
"""How long an address whose lookup failed (a missing scope, Slack down) is not asked again."""
NOT_FOUND = "users_not_found"


@dataclass(frozen=True)
class Match:
    """What one name a source recorded stands for."""

    name: str
    person: PersonConfig | None
    slack_user: str | None


class People:
    """The people of app.yaml, with an optional e-mail lookup for those without a Slack id."""

    def __init__(self, people: Sequence[PersonConfig], lookup: Lookup | None = None) -> None:
        self.people = tuple(people)
        self.lookup = lookup
        self._by_name: dict[str, PersonConfig] = {}
        for person in self.people:
            for name in (person.name, person.email, *person.jira, *person.github, *person.gitlab):
                if name:
                    self._by_name.setdefault(name.casefold(), person)

    def person(self, name: str) -> PersonConfig | None:
        """The configured person ``name`` belongs to."""
        return self._by_name.get(name.casefold())

    def match(self, name: str) -> Match:
        """Who ``name`` is: the configured person and the Slack user (either may be unknown)."""
        person = self.person(name)
        if person is not None and person.slack:
            return Match(name, person, person.slack)
        email = person.email if person is not None else (name if "@" in name else None)
        user = self.lookup(email) if email and self.lookup is not None else None
        return Match(name, person, user)

    def slack_users(self, names: Sequence[str]) -> list[str]:
        """The Slack user ids of ``names`` that map to one, each once, in order."""
        users = [self.match(n).slack_user for n in names]
        return list(dict.fromkeys(u for u in users if u))

    def who(self, finding: Finding) -> str:
        """Mrkdwn naming who can act: mentions, the names "not mapped", the team, or no one."""
        if not finding.people and finding.subject == "team":
            return "the team"
        if not finding.people:
            return "_no one is mapped: set `people:` in app.yaml_"
        parts = []
        for name in dict.fromkeys(finding.people):
            match = self.match(name)
            if match.slack_user:
                parts.append(f"<@{match.slack_user}>")
            else:
                shown = match.person.name if match.person is not None else name
                parts.append(f"{escape(shown)} _(not mapped to Slack)_")
        return ", ".join(dict.fromkeys(parts))


class EmailLookup:
    """``users.lookupByEmail`` through the database cache; a :data:`Lookup`.

    ``client`` builds the Web API client when Slack must be asked; without one, the cached
    answers are all there is (whatever their age). Each address is asked at most once per
    instance, so one card or digest that names a person twice costs one call. ``failed`` (shared
    by the lookups of one process) notes when an address's lookup failed: it is not asked again
    for :data:`RETRY_AFTER_ERROR`, so a missing scope costs one call a while, not one per card.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        client: Callable[[], WebClient] | None = None,
        failed: dict[str, datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.client = client
        self.failed = {} if failed is None else failed
        self._answers: dict[str, str | None] = {}

    def __call__(self, email: str) -> str | None:
        key = email.casefold()
        if key not in self._answers:
            self._answers[key] = self._answer(key)
        return self._answers[key]

    def _answer(self, email: str) -> str | None:
        cached = cached_lookup(self.engine, email)
        known = cached[0] if cached is not None else None
        now = self.clock()
        if self.client is None or not self._due(email, cached, now):
            return known
        try:
            user = _ask_slack(self.client, email)
        except (SlackClientError, NoTokenError, OSError) as exc:
            error = (
                exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            )
            log.warning("users.lookupByEmail failed (%s): the person stays as last known", error)
            self.failed[email] = now
            return known
        self.failed.pop(email, None)
        try:
            save_lookup(self.engine, email, user, now)
        except SQLAlchemyError as exc:
            log.warning("could not cache an e-mail lookup: %s", type(exc).__name__)
        return user

    def _due(self, email: str, cached: tuple[str | None, datetime] | None, now: datetime) -> bool:
        """Whether Slack is to be asked: no fresh answer, and no failure a moment ago."""
        if cached is not None and now - cached[1] < (FOUND_FRESH if cached[0] else NOT_FOUND_FRESH):
            return False
        failed_at = self.failed.get(email)
        return failed_at is None or now - failed_at >= RETRY_AFTER_ERROR


def _ask_slack(client: Callable[[], WebClient], email: str) -> str | None:
    """Slack's answer for ``email``: the user id, or None for ``users_not_found``."""
    try:
        response = client().users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") == NOT_FOUND:
            return None
        raise
    return str(response["user"]["id"])


def names_in(snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """Every name ``snapshot`` uses for people who can act, with the roles it is seen in.

    Items' assignees, pull request authors and reviewers (requested or reviewing). Names are
    compared case-insensitively; the first spelling seen is kept.
    """
    roles: dict[str, dict[str, None]] = {}
    spelling: dict[str, str] = {}

    def seen(name: str | None, role: str) -> None:
        if name:
            key = name.casefold()
            spelling.setdefault(key, name)
            roles.setdefault(key, {})[role] = None

    for item in snapshot.items:
        if item.removed_at is not None:
            continue
        seen(item.assignee, ASSIGNEE)
        if item.kind is ItemKind.PULL_REQUEST:
            seen(item.author, AUTHOR)
    for reviews in snapshot.reviews.values():
        for review in reviews:
            seen(review.reviewer, REVIEWER)
    return {spelling[key]: tuple(found) for key, found in roles.items()}
