"""What every listener and job needs, built once: runtime, clients, caches, pacing, worker pool.

Bolt injects listener arguments by parameter name, so our own dependencies reach the listeners
through closures over one :class:`SlackDeps`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore

from bot.people import EmailLookup, People
from bot.runtime import Runtime
from bot.slack.answering.answers import Answers
from bot.slack.answering.home import ViewerChannels
from bot.slack.delivering.alerts import AlertPolicy
from bot.slack.delivering.client import SlackClients
from bot.slack.delivering.pacing import ChannelPacer
from bot.slack.delivering.poster import ChannelDirectory, Poster

log = logging.getLogger(__name__)
WORK_THREADS = 4
"""Threads for the work after an ack (queries, charts, uploads); acks never wait for them."""


@dataclass
class SlackDeps:
    """The bot's shared services."""

    runtime: Runtime
    clients: SlackClients
    answers: Answers
    pacer: ChannelPacer
    workers: Executor
    channels: ChannelDirectory = field(default_factory=ChannelDirectory)
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    viewers: ViewerChannels = field(default_factory=ViewerChannels)
    failed_lookups: dict[str, datetime] = field(default_factory=dict)
    """E-mail lookups that failed, and when (see :class:`~bot.people.EmailLookup`)."""

    def now(self) -> datetime:
        """The runtime's clock."""
        return self.runtime.clock()

    def people(self, workspace_id: str | None = None) -> People:
        """Who the names in findings are in Slack: app.yaml ``people:``, then e-mail lookups.

        The lookups (``users.lookupByEmail``, cached in the database) use the bot token of
        ``workspace_id``; a workspace without one leaves those people not mapped.
        """
        lookup = EmailLookup(
            self.runtime.engine,
            self.runtime.clock,
            lambda: self.clients.client(workspace_id),
            self.failed_lookups,
        )
        return People(self.runtime.config.people, lookup)

    def poster(self, client: WebClient) -> Poster:
        """A paced poster over ``client``."""
        return Poster(client, self.pacer)

    def run_later(self, work: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``work(*args)`` in the worker pool, logging (not losing) its failure."""

        def logged() -> Any:
            try:
                return work(*args)
            except Exception:
                log.exception("background work %s failed", getattr(work, "__name__", work))
                raise

        return self.workers.submit(logged)


def build_deps(
    runtime: Runtime,
    installation_store: InstallationStore | None = None,
    work_threads: int = WORK_THREADS,
) -> SlackDeps:
    """The services for ``runtime`` (clients on ``slack.api_url``, waits via its ``sleep``)."""
    pacer = ChannelPacer(sleep=runtime.sleep)
    return SlackDeps(
        runtime=runtime,
        clients=SlackClients(runtime.config.slack, runtime.sleep, installation_store, pacer),
        answers=Answers(runtime.engine, teams=runtime.config.teams),
        pacer=pacer,
        workers=ThreadPoolExecutor(max_workers=work_threads, thread_name_prefix="vsm-work"),
    )
