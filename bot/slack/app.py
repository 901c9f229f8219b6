"""The Bolt app factory and the OAuth install flow (HTTP serving is :mod:`bot.slack.wsgi`).

:func:`build_bot` wires one :class:`~slack_bolt.App` with every listener: single-workspace with
``slack.bot_token`` (Socket Mode or HTTP), or multi-workspace with the OAuth install flow and
slack_sdk's SQLAlchemy stores on the app database when ``slack.client_id``/``client_secret``
are set (tokens encrypted with ``slack.encryption_key``). It also makes sure no secret of the
config reaches a log (:mod:`bot.redact`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.config import SlackConfig
from bot.redact import protect_logs, secret_values
from bot.runtime import Runtime
from bot.slack.answering.chart_processes import ChartProcesses
from bot.slack.delivering.client import make_client
from bot.slack.delivering.problems import classify
from bot.slack.deps import SlackDeps, build_deps
from bot.slack.manifest import BOT_SCOPES
from bot.slack.receiving.listeners import register_listeners
from bot.slack.state.sealed_store import (
    HOW_TO_GENERATE,
    EncryptionKeyError,
    SealedInstallationStore,
    TokenCipher,
)

log = logging.getLogger(__name__)
LISTENER_THREADS = 32
"""Bolt's listener pool: listeners only ack and hand over, so these threads free up at once."""
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
OAUTH_STATE_SECONDS = 600


class SlackSetupError(RuntimeError):
    """The Slack settings cannot run the bot; the message says what to set."""


@dataclass
class SlackBot:
    """The Bolt app and the services its listeners use."""

    app: App
    deps: SlackDeps
    signing_secret: str = ""

    def close(self) -> None:
        """Stop the worker threads and chart processes."""
        self.deps.workers.shutdown(wait=False, cancel_futures=True)
        if isinstance(self.deps.answers.renderer, ChartProcesses):
            self.deps.answers.renderer.shutdown()


def oauth_enabled(config: SlackConfig) -> bool:
    """True when the OAuth install flow is configured (client id and secret)."""
    return bool(config.client_id and config.client_secret)


def check_settings(config: SlackConfig, http: bool) -> None:
    """Raise :class:`SlackSetupError` naming what is missing for the chosen transport."""
    problems = []
    if http and config.signing_secret is None:
        problems.append("slack.signing_secret (env SLACK_SIGNING_SECRET) is needed for HTTP mode")
    if not http and config.app_token is None:
        problems.append(
            "slack.app_token (env SLACK_APP_TOKEN, xapp-...) is needed for Socket Mode; "
            "or run `vsm serve --http`"
        )
    if config.bot_token is None and not (http and oauth_enabled(config)):
        problems.append(
            "slack.bot_token (env SLACK_BOT_TOKEN, xoxb-...) is needed"
            + (
                ", or slack.client_id and slack.client_secret for the OAuth install flow"
                if http
                else ""
            )
        )
    if http and config.bot_token is None and oauth_enabled(config) and not config.encryption_key:
        problems.append(
            "slack.encryption_key (env VSM_ENCRYPTION_KEY) is needed for the OAuth install "
            f"flow, to encrypt the installed tokens: {HOW_TO_GENERATE}"
        )
    if problems:
        raise SlackSetupError(
            "cannot start the Slack bot:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def token_cipher(config: SlackConfig) -> TokenCipher:
    """The cipher for installed tokens, from ``slack.encryption_key``."""
    assert config.encryption_key is not None  # checked by check_settings
    try:
        return TokenCipher(config.encryption_key.get_secret_value())
    except EncryptionKeyError as exc:
        raise SlackSetupError(f"cannot start the Slack bot: {exc}") from None


def check_token(client: WebClient) -> bool:
    """Ask Slack whether the bot token works: True when it does, False when Slack is unreachable.

    A token Slack refuses raises :class:`SlackSetupError` (nothing could work with it).
    """
    try:
        client.auth_test()
    except Exception as exc:
        problem = classify(exc, "")
        if problem is None:
            raise
        if problem.auth:
            raise SlackSetupError(f"cannot start the Slack bot: {problem.advice}") from None
        log.warning("Slack is unreachable at start (%s); serving anyway, Slack is tried again", exc)
        return False
    return True


def build_bot(
    runtime: Runtime,
    *,
    http: bool = True,
    listener_threads: int = LISTENER_THREADS,
    chart_processes: int = 0,
) -> SlackBot:
    """The Bolt app for ``runtime``'s config, with every listener registered.

    ``chart_processes`` > 0 draws charts in that many worker processes (what ``vsm serve`` does);
    0 draws them in the worker threads.
    """
    config = runtime.config.slack
    protect_logs(secret_values(runtime.config))
    check_settings(config, http)
    signing_secret = config.signing_secret.get_secret_value() if config.signing_secret else ""
    executor = ThreadPoolExecutor(max_workers=listener_threads, thread_name_prefix="vsm-listener")
    if config.bot_token is not None:
        deps = build_deps(runtime)
        token = config.bot_token.get_secret_value()
        client = make_client(config.api_url, token, runtime.sleep, deps.pacer)
        app = App(
            signing_secret=signing_secret,
            client=client,
            listener_executor=executor,
            token_verification_enabled=check_token(client),
        )
    else:
        assert config.client_id is not None and config.client_secret is not None
        secret = config.client_secret.get_secret_value()
        store = SealedInstallationStore(config.client_id, runtime.engine, token_cipher(config))
        state_store = SQLAlchemyOAuthStateStore(OAUTH_STATE_SECONDS, runtime.engine)
        store.create_tables()
        state_store.create_tables()
        deps = build_deps(runtime, installation_store=store)
        app = App(
            signing_secret=signing_secret,
            client=make_client(config.api_url, None, runtime.sleep, deps.pacer),
            installation_store=store,
            oauth_settings=OAuthSettings(
                client_id=config.client_id,
                client_secret=secret,
                scopes=list(BOT_SCOPES),
                installation_store=store,
                state_store=state_store,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            ),
            listener_executor=executor,
        )
        app.enable_token_revocation_listeners()
    if chart_processes:
        deps.answers.renderer = ChartProcesses(runtime.engine, chart_processes)
    register_listeners(app, deps)
    return SlackBot(app, deps, signing_secret)
