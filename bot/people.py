"""People across tools: who a finding's names (Jira assignee, GitHub login...) are in Slack.

A finding names who can act as the sources record them (:attr:`insights.findings.Finding.people`).
:class:`People` maps such a name to a Slack user id: first from app.yaml ``people:`` (any of a
person's names, its Slack id given), then through ``lookup`` (an e-mail to a Slack user, e.g.
``users.lookupByEmail``) for a person listed with an e-mail but no Slack id, or a name that is an
e-mail itself. Names compare case-insensitively. :meth:`People.who` words the mention a card or a
digest line shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.config import PersonConfig
from bot.slack.answering.blocks import escape
from insights.findings import Finding

Lookup = Callable[[str], "str | None"]
"""An e-mail address to a Slack user id (None when Slack knows no such user)."""


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
        """Mrkdwn naming who can act: mentions, or the names with "not in Slack", or no one."""
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
