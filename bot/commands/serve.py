"""``vsm serve``: run the Slack bot (Socket Mode, or HTTP with ``--http``) and its scheduler.

Several ``vsm serve --http`` processes may share one PostgreSQL database: one leads the scheduler
and the others stand by (see :mod:`bot.scheduler`, whose ``VSM_*`` environment settings apply).
A database server that is down at start is waited for: one log line per attempt, the wait
doubling from ``FIRST_WAIT_SECONDS`` up to ``MAX_WAIT_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

import click
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy.exc import OperationalError

from bot.cli_state import CliState, database_problem, pass_state, server_unreachable
from bot.runtime import Runtime
from bot.scheduler import BotScheduler, SchedulerSettings
from bot.slack.answering.chart_processes import default_workers
from bot.slack.app import SlackSetupError, build_bot
from bot.slack.wsgi import make_http_server, wsgi_app
from bot.webhooks.receiver import webhook_app

log = logging.getLogger(__name__)
SWITCH_INTERVAL_SECONDS = 0.001
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0


def _stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (docker stop, systemd) stops like Ctrl-C: workers and scheduler shut down."""
    raise KeyboardInterrupt


def runtime_when_reachable(state: CliState) -> Runtime:
    """The runtime, once the database server answers; waits with backoff until then."""
    wait, attempt = FIRST_WAIT_SECONDS, 1
    while True:
        try:
            return state.runtime()
        except OperationalError as exc:
            url = state.database_url()
            if not server_unreachable(exc, url):
                raise
            log.warning(
                "%s; attempt %d, trying again in %g s", database_problem(exc, url), attempt, wait
            )
        state.sleep(wait)
        wait, attempt = min(2 * wait, MAX_WAIT_SECONDS), attempt + 1


@click.command("serve")
@click.option("--http", "use_http", is_flag=True, help="Serve HTTP at /slack/events (with OAuth).")
@click.option(
    "--host", default="0.0.0.0", show_default=True, help="Address to bind (HTTP, webhooks)."
)
@click.option(
    "--port", default=3000, show_default=True, envvar="PORT", help="HTTP mode: port (env PORT)."
)
@click.option(
    "--webhooks-port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    envvar="VSM_WEBHOOKS_PORT",
    help="Also serve vendor webhooks (/webhooks/<source>) on this port, e.g. in Socket Mode.",
)
@click.option(
    "--no-scheduler", is_flag=True, help="Answer commands only: no sync, digests, alerts."
)
@click.option(
    "--chart-processes",
    type=click.IntRange(min=0),
    default=None,
    envvar="VSM_CHART_PROCESSES",
    help="Processes drawing charts (default: one per core; 0 draws in threads).",
)
@pass_state
def command(
    state: CliState,
    use_http: bool,
    host: str,
    port: int,
    webhooks_port: int | None,
    no_scheduler: bool,
    chart_processes: int | None,
) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, or HTTP with --http."""
    try:
        settings = SchedulerSettings.from_env(os.environ)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if webhooks_port is not None and no_scheduler:
        raise click.ClickException(
            "--webhooks-port needs the scheduler (a webhook syncs and alerts through it): "
            "drop --no-scheduler"
        )
    runtime = runtime_when_reachable(state)
    processes = default_workers() if chart_processes is None else chart_processes
    try:
        bot = build_bot(runtime, http=use_http, chart_processes=processes)
    except SlackSetupError as exc:
        raise click.ClickException(str(exc)) from None
    signal.signal(signal.SIGTERM, _stop)
    # Request threads wait for the GIL behind the answers being computed; switching threads
    # every millisecond (Python's default is 5) keeps acks quick while work runs.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    scheduler = None if no_scheduler else BotScheduler(bot.deps, settings=settings)
    webhooks = None if scheduler is None else webhook_app(runtime, scheduler.hints)
    webhook_server = None
    if scheduler is not None:
        scheduler.start()
    try:
        if webhooks is not None and webhooks_port is not None:
            webhook_server = make_http_server(webhooks, host, webhooks_port)
            threading.Thread(
                target=webhook_server.serve_forever, name="vsm-webhooks", daemon=True
            ).start()
            click.echo(
                f"vendor webhooks on http://{host}:{webhook_server.server_port}/webhooks/<source>"
            )
        if use_http:
            server = make_http_server(wsgi_app(bot, webhooks), host, port)
            click.echo(f"vsm-bot listening on http://{host}:{server.server_port}/slack/events")
            server.serve_forever()
        else:
            app_token = runtime.config.slack.app_token
            assert app_token is not None  # checked by build_bot
            click.echo("vsm-bot connected to Slack over Socket Mode (Ctrl-C to stop)")
            SocketModeHandler(
                bot.app, app_token.get_secret_value(), web_client=bot.app.client
            ).start()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        if webhook_server is not None:
            webhook_server.shutdown()
            webhook_server.server_close()
        if scheduler is not None:
            scheduler.shutdown()
        bot.close()
