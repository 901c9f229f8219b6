"""The gunicorn entry point: any WSGI server can host the bot in HTTP mode.

    gunicorn --workers 1 --threads 32 --bind 0.0.0.0:3000 'bot.wsgi:create()'

A composition root, like ``vsm serve``: it wires the Slack app (:mod:`bot.slack`) and the
scheduler (:mod:`bot.scheduler`), so nothing under ``bot/slack`` needs to know the scheduler.
It reads app.yaml from ``VSM_CONFIG`` (default ``app.yaml``) and the database from
``VSM_DATABASE_URL`` (default: app.yaml's), applies migrations, and starts the scheduler unless
``VSM_SCHEDULER=off`` (with the ``VSM_*`` settings of :mod:`bot.scheduler`). On SQLite run one
worker process; on PostgreSQL run as many workers and machines as needed: one leads the scheduler
and the others stand by. Vendor webhooks are served at ``/webhooks/<source name>`` while the
scheduler runs (they sync and alert through it).
"""

from __future__ import annotations

import os

from bot.config import load_config
from bot.runtime import open_runtime
from bot.scheduler import BotScheduler, SchedulerSettings
from bot.slack.answering.chart_processes import default_workers
from bot.slack.app import build_bot
from bot.slack.wsgi import Wsgi, wsgi_app
from bot.webhooks.receiver import webhook_app


def create(
    config_path: str | None = None,
    *,
    scheduler: bool | None = None,
    chart_processes: int | None = None,
) -> Wsgi:
    """Build the bot from app.yaml and return its WSGI application."""
    settings = SchedulerSettings.from_env(os.environ)
    config = load_config(config_path or os.environ.get("VSM_CONFIG", "app.yaml"))
    runtime = open_runtime(config, database=os.environ.get("VSM_DATABASE_URL"))
    processes = default_workers() if chart_processes is None else chart_processes
    bot = build_bot(runtime, http=True, chart_processes=processes)
    if not (scheduler if scheduler is not None else os.environ.get("VSM_SCHEDULER") != "off"):
        return wsgi_app(bot)
    leader = BotScheduler(bot.deps, settings=settings)
    leader.start()
    return wsgi_app(bot, webhook_app(runtime, leader.hints))
