"""The Slack app over HTTP: the WSGI app and a threaded server for it.

:func:`wsgi_app` serves ``/slack/events`` (signature checked first, see
:class:`~bot.slack.receiving.guard.RequestGuard`), ``/slack/install``, ``/slack/oauth_redirect``
and ``/health`` to any WSGI server, and ``/webhooks/<source name>`` when given the vendor
webhooks' app (:mod:`bot.webhooks.receiver`); no body over
:data:`~bot.slack.receiving.guard.MAX_BODY_BYTES` is read, on any path. The scheduler is not
started here: the composition roots (``vsm serve`` in :mod:`bot.commands.serve`, and
:func:`bot.wsgi.create` for gunicorn) wire it, and the webhooks' hints, next to the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.app import EVENTS_PATH, SlackBot
from bot.slack.receiving.guard import RequestGuard, refuse_oversized

log = logging.getLogger(__name__)

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
WEBHOOKS_PATH = "/webhooks/"


def wsgi_app(bot: SlackBot, webhooks: Wsgi | None = None) -> Wsgi:
    """A WSGI app serving Bolt at ``/slack/events`` (and OAuth), plus ``GET /health``.

    Requests to ``/slack/events`` pass :class:`RequestGuard` before Bolt sees them; bodies on
    the other paths are capped too (Bolt reads them whole). Paths under ``/webhooks/`` go to
    ``webhooks`` when given (it caps its bodies itself).
    """
    slack = SlackRequestHandler(bot.app, path=EVENTS_PATH)
    guard = RequestGuard(bot.signing_secret, bot.deps.runtime.engine)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/health" and method == "GET":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if webhooks is not None and str(path).startswith(WEBHOOKS_PATH):
            return webhooks(environ, start_response)
        if path == EVENTS_PATH and method == "POST":
            refused = guard.screen(environ)
        else:
            refused = refuse_oversized(environ)
        if refused is not None:
            status, body = refused
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        return slack(environ, start_response)

    return application


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per request (acks never queue behind slow requests)."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 resets bursts of connections


class _LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query is left out: a Jira Data Center webhook carries its secret there.
        line = f"{self.command} {self.path.partition('?')[0]}"
        log.debug('%s "%s" %s %s', self.address_string(), line, code, size)


def make_http_server(application: Wsgi, host: str, port: int) -> WSGIServer:
    """A threaded HTTP server for ``application`` (port 0 picks a free port)."""
    return make_server(
        host, port, application, server_class=ThreadingWSGIServer, handler_class=_LoggingHandler
    )
