"""A fake Slack Web API: a real HTTP server on a free loopback port that records every call.

It answers what vsm-bot uses (auth.test, chat.postMessage/update/postEphemeral, conversations.*
including history and replies with message ``metadata``, views.publish, the three files upload
v2 steps, oauth.v2.access, response_url posts), checks tokens, refuses Block Kit that Slack would
refuse (``invalid_blocks``, ``msg_too_long``, ``msg_blocks_too_long``) and can be told to answer
the next call of a method with HTTP 429 and ``Retry-After`` (:meth:`FakeSlack.fail_next`), or to
interrupt it (:meth:`FakeSlack.interrupt_next`): take it or not, answer it or drop the connection,
and run a hook as it arrives (to kill or freeze the caller mid-request). Message ts come from
``clock`` (the real one unless a test fixes it). Tests read :attr:`FakeSlack.calls` and
:meth:`FakeSlack.posted`, and wait for asynchronous work with :meth:`FakeSlack.wait_for` (a short
polling loop with a deadline, never a sleep on time).
"""

from __future__ import annotations

import itertools
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_TOKEN = "xoxb-fake-bot-token"
WORKSPACE = "T0FAKE001"
BOT_USER = "U0BOTUSER"
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_BLOCK_TEXT = 12_000
NO_AUTH_METHODS = {"oauth.v2.access"}
HISTORY_PAGE = 100
"""Messages per conversations.history page when no ``limit`` is given (Slack's default)."""


@dataclass
class Call:
    """One request the fake received."""

    method: str
    """The Web API method, or ``upload`` / ``response`` for the upload URL and response_url."""
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.monotonic()`` when it arrived."""
    status: int = 200
    reply: dict[str, Any] = field(default_factory=dict)
    answered: bool = True
    """False when the connection was dropped instead of answering (:meth:`interrupt_next`)."""

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The call's blocks (a view's blocks for views.publish)."""
        if "view" in self.params:
            return list(self.params["view"].get("blocks", []))
        return list(self.params.get("blocks") or [])

    @property
    def block_text(self) -> str:
        """Every text in the blocks, joined (what a reader sees)."""
        return "\n".join(_texts(self.blocks))


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                found += _texts(value)
        return found
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def block_problem(blocks: list[dict[str, Any]], max_blocks: int) -> str | None:
    """Why Slack would refuse these blocks (a json-pointer message), or None."""
    if len(blocks) > max_blocks:
        return f"no more than {max_blocks} items allowed [json-pointer:/blocks]"
    for index, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{index}]"
        if len(block.get("block_id", "")) > 255:
            return f"block_id too long {where}"
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if len(text) > 3000:
                return f"must be less than 3001 characters {where}/text"
            section_fields = block.get("fields") or []
            if len(section_fields) > 10 or any(
                len(f.get("text", "")) > 2000 for f in section_fields
            ):
                return f"fields invalid {where}/fields"
            if not text and not section_fields:
                return f"section needs text or fields {where}"
        elif kind == "header":
            text = block.get("text") or {}
            if text.get("type") != "plain_text" or len(text.get("text", "")) > 150:
                return f"header text must be plain_text of at most 150 characters {where}/text"
        elif kind == "context":
            if not 1 <= len(block.get("elements") or []) <= 10:
                return f"context needs 1 to 10 elements {where}/elements"
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                return f"actions needs 1 to 25 elements {where}/elements"
            for e_index, element in enumerate(elements):
                if len(element.get("text", {}).get("text", "")) > 75:
                    return f"button text too long {where}/elements/{e_index}"
                if len(element.get("value") or "") > 2000 or len(element.get("url") or "") > 3000:
                    return f"button value or url too long {where}/elements/{e_index}"
        elif kind not in ("divider", "image"):
            return f"unsupported block type {kind!r} {where}"
    return None


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str


@dataclass
class _Interruption:
    accept: bool
    answer: bool
    hook: Callable[[Call], None] | None
    after: int


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


class FakeSlack:
    """The fake Web API; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, bot_token: str = BOT_TOKEN, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.tokens = {bot_token}
        self.calls: list[Call] = []
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._interruptions: dict[str, list[_Interruption]] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> FakeSlack:
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL to configure (``slack.api_url``)."""
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url whose posts are recorded as ``response`` calls under ``name``."""
        return f"{self.url}/response/{name}"

    # --- test controls ---

    def add_channel(self, channel_id: str, name: str, *, member: bool = True) -> None:
        """A channel the bot can see (and is a member of, unless ``member`` is False)."""
        self.channels[channel_id] = {"id": channel_id, "name": name, "is_member": member}

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str = "ratelimited",
    ) -> None:
        """Answer the next call of ``method`` with ``status`` (and ``Retry-After``)."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, error))

    def interrupt_next(
        self,
        method: str,
        *,
        accept: bool = True,
        answer: bool = False,
        hook: Callable[[Call], None] | None = None,
        after: int = 0,
    ) -> None:
        """Interrupt the next call of ``method`` (once ``after`` more have gone through).

        ``hook(call)`` runs as the call arrives (e.g. to SIGKILL or SIGSTOP the caller); then the
        call is carried out when ``accept`` (a post is posted) and answered when ``answer``, else
        the connection is closed without an answer, like a network failure after Slack took it.
        """
        planned = _Interruption(accept, answer, hook, after)
        with self._lock:
            self._interruptions.setdefault(method, []).append(planned)

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The messages in Slack (in ``channel``), oldest first, whatever became of the calls."""
        with self._lock:
            found = [m for m in self.messages.values() if channel in (None, m["channel"])]
        return sorted(found, key=lambda m: float(m["ts"]))

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method so far, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def responses(self, name: str) -> list[Call]:
        """What was posted to ``response_url(name)``."""
        return [c for c in self.calls_to("response") if c.params.get("_name") == name]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, name: str | None = None
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` arrived (work after an ack is asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.responses(name) if name is not None else self.calls_to(method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} call(s) of {method} within {timeout}s, got {len(found)}; "
                    f"calls: {[c.method for c in self.calls]}"
                )
            time.sleep(0.005)

    # --- the API ---

    def handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            queued = self._failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure is not None:
            extra = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            return failure.status, extra, {"ok": False, "error": failure.error}
        if method not in NO_AUTH_METHODS and _token(params, headers) not in self.tokens:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        return 200, {}, answer(params)

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "team": "Fake",
            "team_id": WORKSPACE,
            "user_id": BOT_USER,
            "bot_id": "B0FAKE",
        }

    def _check_message(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if len(params.get("text") or "") > MAX_TEXT:
            return {"ok": False, "error": "msg_too_long"}
        blocks = params.get("blocks") or []
        problem = block_problem(blocks, MAX_MESSAGE_BLOCKS)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        if sum(len(t) for t in _texts(blocks)) > MAX_BLOCK_TEXT:
            return {"ok": False, "error": "msg_blocks_too_long"}
        return None

    def interruptions_pending(self, method: str) -> int:
        """How many planned interruptions of ``method`` have not happened yet."""
        with self._lock:
            return len(self._interruptions.get(method) or ())

    def interruption(self, method: str) -> _Interruption | None:
        """The interruption planned for this call of ``method`` (taken off the plan)."""
        with self._lock:
            queued = self._interruptions.get(method)
            if not queued:
                return None
            if queued[0].after > 0:
                queued[0].after -= 1
                return None
            return queued.pop(0)

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        refused = self._check_message(params)
        if refused:
            return refused
        n = self._next()
        ts = f"{math.floor(self.clock())}.{n:06d}"
        with self._lock:
            self.messages[ts] = {**params, "ts": ts}
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": {"ts": ts}}

    def _visible(self, channel: str) -> dict[str, Any] | None:
        """Why the bot may not read ``channel`` (Slack's error), or None when it may."""
        known = self.channels.get(channel)
        if known is None and not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}
        if known is not None and not known["is_member"]:
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _page(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """One page of ``messages`` (newest first) within oldest/latest, with their metadata."""
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or math.inf)
        inclusive = _flag(params.get("inclusive"))
        within = [
            m
            for m in messages
            if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
        ]
        within.sort(key=lambda m: float(m["ts"]), reverse=True)
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or HISTORY_PAGE), 999)
        page = within[start : start + limit]
        more = start + limit < len(within)
        shown = [
            {
                "type": "message",
                "ts": m["ts"],
                "text": m.get("text", ""),
                "bot_id": "B0FAKE",
                **({"thread_ts": m["thread_ts"]} if m.get("thread_ts") else {}),
                **(
                    {"metadata": m["metadata"]}
                    if m.get("metadata") and _flag(params.get("include_all_metadata"))
                    else {}
                ),
            }
            for m in page
        ]
        cursor = str(start + limit) if more else ""
        return {
            "ok": True,
            "messages": shown,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        refused = self._visible(channel)
        if refused:
            return refused
        top = [
            m
            for m in self.posted(channel)
            if not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("reply_broadcast")
        ]
        return self._page(top, params)

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, parent = str(params.get("channel", "")), str(params.get("ts", ""))
        refused = self._visible(channel)
        if refused:
            return refused
        thread = [m for m in self.posted(channel) if parent in (m["ts"], m.get("thread_ts"))]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(thread, params)

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        refused = self._check_message(params)
        if refused:
            return refused
        with self._lock:
            if params.get("ts") not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[params["ts"]].update(params)
        return {"ok": True, "channel": params["channel"], "ts": params["ts"]}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._check_message(params) or {"ok": True, "message_ts": f"{self._next()}.0"}

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channels": list(self.channels.values()),
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel", ""))
        return (
            {"ok": True, "channel": channel}
            if channel
            else {"ok": False, "error": "channel_not_found"}
        )

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel["is_member"] = True
        return {"ok": True, "channel": channel}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + user.removeprefix("U")}}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view") or {}
        problem = block_problem(view.get("blocks") or [], MAX_VIEW_BLOCKS)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        self.home_views[params["user_id"]] = view
        return {"ok": True, "view": {"id": "V0001", **view}}

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{self._next():08d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files") or []
        if not files or any(f["id"] not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        channel = params.get("channel_id")
        if channel and not channel.startswith("D"):
            known = self.channels.get(channel)
            if known is None:
                return {"ok": False, "error": "channel_not_found"}
            if not known["is_member"]:
                return {"ok": False, "error": "not_in_channel"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("code"):
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-installed-{self._next()}"
        self.tokens.add(token)
        return {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": BOT_USER,
            "app_id": "A0FAKE",
            "team": {"id": "T0INSTALL", "name": "Installed"},
            "enterprise": None,
            "authed_user": {"id": "U0INSTALLER"},
        }


def _token(params: dict[str, Any], headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    token = params.get("token")
    return str(token) if token else None


def _parse(body: bytes, content_type: str, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    if "json" in content_type and body:
        params.update(json.loads(body))
    elif body:
        params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
    for key in ("blocks", "view", "files", "metadata"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            """``GET /_calls``: the recorded calls as JSON, for a process that cannot share them."""
            if urlparse(self.path).path != "/_calls":
                self._send(404, {}, b"not found", "text/plain")
                return
            with fake._lock:
                calls = [
                    {"method": c.method, "at": c.at, "status": c.status, "params": c.params}
                    for c in fake.calls
                ]
            self._send(200, {}, json.dumps(calls, default=str).encode(), "application/json")

        def do_POST(self) -> None:
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            parsed = urlparse(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if parsed.path.startswith("/upload/"):
                file_id = parsed.path.removeprefix("/upload/")
                fake.uploads[file_id] = body
                self._record(Call("upload", {"file_id": file_id}, headers, body, arrived))
                self._send(200, {}, b"OK - " + str(len(body)).encode(), "text/plain")
                return
            if parsed.path.startswith("/response/"):
                params = json.loads(body or b"{}")
                params["_name"] = parsed.path.removeprefix("/response/")
                self._record(Call("response", params, headers, body, arrived))
                self._send(200, {}, b"ok", "text/plain")
                return
            method = parsed.path.removeprefix("/api/")
            params = _parse(body, headers.get("content-type", ""), parsed.query)
            interruption = fake.interruption(method)
            if interruption is not None:
                self._interrupted(method, params, headers, body, arrived, interruption)
                return
            status, extra, reply = fake.handle(method, params, headers)
            self._record(Call(method, params, headers, body, arrived, status, reply))
            self._send(status, extra, json.dumps(reply).encode(), "application/json")

        def _interrupted(
            self,
            method: str,
            params: dict[str, Any],
            headers: dict[str, str],
            body: bytes,
            arrived: float,
            interruption: _Interruption,
        ) -> None:
            answer = interruption.answer and interruption.accept
            call = Call(method, params, headers, body, arrived, answered=answer)
            if interruption.hook is not None:
                interruption.hook(call)
            extra: dict[str, str] = {}
            if interruption.accept:
                call.status, extra, call.reply = fake.handle(method, params, headers)
            self._record(call)
            self.close_connection = not answer
            try:
                if answer:
                    payload = json.dumps(call.reply).encode()
                    self._send(call.status, extra, payload, "application/json")
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the caller is gone (killed by the hook)

        def _record(self, call: Call) -> None:
            with fake._lock:
                fake.calls.append(call)

        def _send(
            self, status: int, extra: dict[str, str], payload: bytes, content_type: str
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
