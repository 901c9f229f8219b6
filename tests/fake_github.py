"""A fake GitHub (REST + GraphQL) on a real loopback HTTP server, and the server machinery.

:class:`FakeServer` is what the fake GitHub, GitLab and PagerDuty share: a
``ThreadingHTTPServer`` on 127.0.0.1 with a free port, run in a thread, that records every request
and can be told to answer the next matching requests with a fault (a 500, a 429 with
``Retry-After``, a secondary-limit 403...). :class:`FakeGitHub` serves, from in-memory data shaped
as GitHub documents it: pull requests (REST list and GraphQL with ``first``/``after`` cursors,
``UPDATED_AT DESC`` order, nested ``timelineItems`` pages of 100 and ``commits`` pages of the size
the query asks for, each with its follow-up query), deployments and their
statuses, the compare API over a commit graph, ``commits/{sha}/pulls``, Actions runs and issues,
milestones (``state``, by ``due_on``; a pull request node may carry its ``milestone``),
and repository webhooks (list, create, update; a 404 when the token may not manage them).
List answers carry ``Link`` headers, weak ``ETag`` s (``If-None-Match`` gives a 304) and the
``X-RateLimit-*`` headers. GraphQL answers keep only the fields the query names, so a field the
source reads but forgot to ask for is missing here as it would be on GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """An answer: status, headers, and a JSON body (None: no body)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``pattern`` with ``reply``."""

    method: str
    pattern: re.Pattern[str]
    reply: Reply
    times: int


class FakeServer:
    """A loopback HTTP server in a thread; subclasses implement :meth:`route`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_PATCH(self) -> None:
                fake._serve(self, "PATCH")

            def do_PUT(self) -> None:
                fake._serve(self, "PUT")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(
        self,
        pattern: str,
        status: int,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests whose path matches ``pattern`` with ``status``."""
        reply = Reply(status, body if body is not None else {"message": "fault"}, headers or {})
        self.faults.append(Fault(method, re.compile(pattern), reply, times))

    def count(
        self, pattern: str = "", *, method: str | None = None, status: int | None = None
    ) -> int:
        """How many recorded requests match ``pattern`` (and the method and status given)."""
        return sum(
            1
            for r in self.requests
            if re.search(pattern, r.path)
            and (method is None or r.method == method)
            and (status is None or r.status == status)
        )

    def reset_log(self) -> None:
        self.requests.clear()

    def route(self, request: Request) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        request = Request(
            method,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            json.loads(raw) if raw else None,
        )
        with self.lock:
            try:
                reply = self._fault(request) or self.route(request)
            except Exception as exc:  # a bug in the fake: say so instead of hanging up
                reply = Reply(500, {"message": f"fake server error: {exc!r}"})
            request.status = reply.status
            self.requests.append(request)
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.status != 304:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if reply.status != 304:
            handler.wfile.write(payload)

    def _fault(self, request: Request) -> Reply | None:
        for fault in self.faults:
            matches = fault.method == request.method and fault.pattern.search(request.path)
            if fault.times > 0 and matches:
                fault.times -= 1
                return fault.reply
        return None


def etag_of(body: Any) -> str:
    """A weak ETag over the JSON body, as GitHub sends."""
    return 'W/"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'


def paged(
    base_url: str, request: Request, items: list[Any], default_per_page: int = 30
) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` by ``page``/``per_page``, with a ``Link`` header to the next."""
    per_page = min(100, int(request.arg("per_page") or default_per_page))
    page = int(request.arg("page") or 1)
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    headers = {}
    if start + per_page < len(items):
        query = {k: v[0] for k, v in request.query.items()}
        query.update(page=str(page + 1), per_page=str(per_page))
        last = {**query, "page": str((len(items) - 1) // per_page + 1)}
        headers["Link"] = (
            f'<{base_url}{request.path}?{urlencode(query)}>; rel="next", '
            f'<{base_url}{request.path}?{urlencode(last)}>; rel="last"'
        )
    return chunk, headers


def load_fixture(relative: str) -> Any:
    """A JSON fixture under ``tests/fixtures``."""
    return json.loads((FIXTURES / relative).read_text())


@dataclass
class FakeRepo:
    """One repository's data, as GitHub would hold it."""

    prs: dict[int, dict[str, Any]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    milestones: list[dict[str, Any]] = field(default_factory=list)


class FakeGitHub(FakeServer):
    """GitHub's REST and GraphQL APIs over in-memory repositories."""

    def __init__(self, token: str = "ghp-test-token", enterprise: bool = False) -> None:
        super().__init__()
        self.token = token
        self.enterprise = enterprise
        """GitHub Enterprise Server layout: REST under ``/api/v3``, GraphQL at ``/api/graphql``."""
        self.repos: dict[str, FakeRepo] = {}
        self.rate_remaining = 5000
        self.rate_reset = 1_900_000_000
        self.graphql_cost = 0
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        """Each repository's webhooks (``/repos/{owner}/{repo}/hooks``)."""
        self.hook_admin = True
        """Whether the token may manage webhooks; GitHub answers 404 to one that may not."""

    def repo(self, name: str) -> FakeRepo:
        return self.repos.setdefault(name, FakeRepo())

    def load(self, name: str, fixture: dict[str, Any]) -> FakeRepo:
        """Fill repository ``name`` from a fixture document (see fixtures/github/)."""
        repo = self.repo(name)
        for node in fixture.get("pull_requests", []):
            repo.prs[node["number"]] = node
        repo.deployments += fixture.get("deployments", [])
        for deployment_id, statuses in fixture.get("deployment_statuses", {}).items():
            repo.statuses[int(deployment_id)] = statuses
        repo.runs += fixture.get("workflow_runs", [])
        repo.issues += fixture.get("issues", [])
        for commit in fixture.get("commits", []):
            repo.commits[commit["sha"]] = commit
        repo.commit_pulls.update(fixture.get("commit_pulls", {}))
        repo.milestones += fixture.get("milestones", [])
        return repo

    # -- routing -------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The REST base URL a source is configured with."""
        return self.url + ("/api/v3" if self.enterprise else "")

    def route(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"message": "Bad credentials", "documentation_url": DOCS})
        if self.enterprise:
            if not request.path.startswith(("/api/v3/", "/api/graphql")):
                return Reply(404, {"message": "Not Found", "documentation_url": DOCS})
            request.path = request.path.removeprefix("/api/v3").replace("/api/graphql", "/graphql")
        if request.method == "POST" and request.path == "/graphql":
            reply = self._graphql(request.body or {})
            return self._limited(reply, "graphql")
        hooks = re.fullmatch(r"/repos/(?P<repo>[^/]+/[^/]+)/hooks(?:/(?P<hook>\d+))?", request.path)
        if hooks:
            return self._limited(self._hooks(request, hooks["repo"], hooks["hook"]), "core")
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, request.path)
            if match and request.method == "GET":
                repo = self.repos.get(f"{match['owner']}/{match['name']}")
                if repo is None:
                    return Reply(404, {"message": "Not Found", "documentation_url": DOCS})
                reply = handler(
                    request,
                    repo,
                    **{k: v for k, v in match.groupdict().items() if k not in ("owner", "name")},
                )
                return self._conditional(request, reply)
        return Reply(404, {"message": "Not Found", "documentation_url": DOCS})

    def _routes(self) -> list[tuple[str, Callable[..., Reply]]]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        return [
            (repo + r"/pulls", self._pulls),
            (repo + r"/deployments", self._deployments),
            (repo + r"/deployments/(?P<deployment>\d+)/statuses", self._statuses),
            (repo + r"/compare/(?P<base>[^./]+)\.\.\.(?P<head>[^/]+)", self._compare),
            (repo + r"/commits/(?P<sha>[^/]+)/pulls", self._commit_pulls),
            (repo + r"/actions/runs", self._runs),
            (repo + r"/actions/workflows/(?P<workflow>[^/]+)/runs", self._runs),
            (repo + r"/issues", self._issues),
            (repo + r"/milestones", self._milestones),
        ]

    def _conditional(self, request: Request, reply: Reply) -> Reply:
        if reply.status == 200:
            tag = etag_of(reply.body)
            reply.headers["ETag"] = tag
            if request.headers.get("if-none-match") == tag:
                return self._limited(Reply(304, None, {"ETag": tag}), "core", free=True)
        return self._limited(reply, "core")

    def _limited(self, reply: Reply, resource: str, free: bool = False) -> Reply:
        if not free and reply.status < 400:
            self.rate_remaining = max(0, self.rate_remaining - 1)
        reply.headers.update(
            {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": str(self.rate_remaining),
                "X-RateLimit-Reset": str(self.rate_reset),
                "X-RateLimit-Resource": resource,
            }
        )
        return reply

    # -- REST ----------------------------------------------------------------------------------

    def _list(self, request: Request, items: list[Any]) -> Reply:
        chunk, headers = paged(self.api_url, request, items)
        return Reply(200, chunk, headers)

    def _pulls(self, request: Request, repo: FakeRepo) -> Reply:
        nodes = _by_update(repo.prs.values())
        return self._list(request, [rest_pull(n) for n in nodes])

    def _deployments(self, request: Request, repo: FakeRepo) -> Reply:
        return self._list(request, sorted(repo.deployments, key=lambda d: -d["id"]))

    def _statuses(self, request: Request, repo: FakeRepo, deployment: str) -> Reply:
        statuses = repo.statuses.get(int(deployment), [])
        return self._list(request, sorted(statuses, key=lambda s: -s["id"]))

    def _compare(self, request: Request, repo: FakeRepo, base: str, head: str) -> Reply:
        if base not in repo.commits or head not in repo.commits:
            return Reply(404, {"message": "Not Found", "documentation_url": DOCS})
        behind = _ancestors(repo, base)
        ahead = _ancestors(repo, head)
        order = list(repo.commits)
        commits = [repo.commits[sha] for sha in order if sha in ahead and sha not in behind]
        status = "identical" if base == head else "ahead" if base in ahead else "behind"
        if base not in ahead and head not in behind:
            status = "diverged"
        chunk, headers = paged(self.api_url, request, commits, default_per_page=250)
        body = {
            "status": status,
            "ahead_by": len(commits),
            "behind_by": len(behind - ahead),
            "total_commits": len(commits),
            "commits": chunk,
            "files": [],
        }
        return Reply(200, body, headers)

    def _commit_pulls(self, request: Request, repo: FakeRepo, sha: str) -> Reply:
        numbers = repo.commit_pulls.get(sha, [])
        return self._list(request, [rest_pull(repo.prs[n]) for n in numbers if n in repo.prs])

    def _runs(self, request: Request, repo: FakeRepo, workflow: str | None = None) -> Reply:
        runs = sorted(repo.runs, key=lambda r: -r["id"])
        if workflow is not None:
            runs = [r for r in runs if r["path"].rsplit("/", 1)[-1] == workflow]
        chunk, headers = paged(self.api_url, request, runs)
        return Reply(200, {"total_count": len(runs), "workflow_runs": chunk}, headers)

    def _issues(self, request: Request, repo: FakeRepo) -> Reply:
        wanted = {x for x in (request.arg("labels") or "").split(",") if x}
        state = request.arg("state", "open")
        since = request.arg("since")
        issues = [
            i
            for i in repo.issues
            if wanted <= {label["name"] for label in i["labels"]}
            and (state == "all" or i["state"] == state)
            and (since is None or i["updated_at"] >= since)
        ]
        issues.sort(key=lambda i: i["updated_at"], reverse=request.arg("direction") != "asc")
        return self._list(request, issues)

    def _milestones(self, request: Request, repo: FakeRepo) -> Reply:
        """``state`` (default ``open``), ordered by ``due_on`` ascending (GitHub's default)."""
        state = request.arg("state", "open")
        listed = [m for m in repo.milestones if state == "all" or _field(m, "state") == state]
        listed.sort(key=lambda m: (_field(m, "due_on") is None, str(_field(m, "due_on"))))
        return self._list(request, listed)

    def _hooks(self, request: Request, name: str, hook_id: str | None) -> Reply:
        """List, create (``POST``) or update (``PATCH .../hooks/{id}``) a repository's webhooks.

        As GitHub: the secret is never answered back, a second hook with the same URL is a 422.
        """
        if name not in self.repos or not self.hook_admin:
            return Reply(404, {"message": "Not Found", "documentation_url": DOCS})
        hooks = self.hooks.setdefault(name, [])
        body = request.body or {}
        if hook_id is None and request.method == "GET":
            return self._list(request, [_shown_hook(h) for h in hooks])
        if hook_id is None and request.method == "POST":
            if any(h["config"]["url"] == body["config"]["url"] for h in hooks):
                errors = [{"resource": "Hook", "code": "custom", "message": "Hook already exists"}]
                return Reply(422, {"message": "Validation Failed", "errors": errors})
            hook = {"id": 1000 + sum(len(h) for h in self.hooks.values()), "type": "Repository"}
            hook.update(name=body["name"], active=body.get("active", True))
            hook.update(events=body.get("events", ["push"]), config=dict(body["config"]))
            hooks.append(hook)
            return Reply(201, _shown_hook(hook))
        found = next((h for h in hooks if str(h["id"]) == hook_id), None)
        if found is None or request.method != "PATCH":
            return Reply(404, {"message": "Not Found", "documentation_url": DOCS})
        found["config"].update(body.get("config", {}))
        found.update({k: body[k] for k in ("events", "active") if k in body})
        return Reply(200, _shown_hook(found))

    # -- GraphQL -------------------------------------------------------------------------------

    def _graphql(self, body: dict[str, Any]) -> Reply:
        query, variables = body.get("query", ""), body.get("variables") or {}
        operation = body.get("operationName")
        repo = self.repos.get(f"{variables.get('owner')}/{variables.get('name')}")
        if repo is None:
            error = {
                "type": "NOT_FOUND",
                "path": ["repository"],
                "message": "Could not resolve to a Repository with the name "
                f"'{variables.get('owner')}/{variables.get('name')}'.",
            }
            return Reply(200, {"data": {"repository": None}, "errors": [error]})
        if operation == "PullRequests":
            data, cost = self._pull_request_page(repo, variables, query)
        elif operation == "PullRequestTimeline":
            data, cost = self._timeline_page(repo, variables)
        elif operation == "PullRequestCommits":
            data, cost = self._commits_page(repo, variables, query)
        elif operation == "Counts":
            deployments = {"totalCount": len(repo.deployments)}
            data = {"pullRequests": {"totalCount": len(repo.prs)}, "deployments": deployments}
            cost = 1
        else:
            return Reply(200, {"errors": [{"message": f"unknown operation {operation!r}"}]})
        self.graphql_cost += cost
        rate = {"cost": cost, "remaining": self.rate_remaining, "resetAt": "2030-03-17T17:46:40Z"}
        return Reply(200, {"data": {"rateLimit": rate, "repository": project(data, query)}})

    def _pull_request_page(
        self, repo: FakeRepo, variables: dict[str, Any], query: str
    ) -> tuple[dict[str, Any], int]:
        first = int(variables["first"])
        start = _offset(variables.get("after"))
        nodes = _by_update(repo.prs.values())
        chunk = nodes[start : start + first]
        end = start + len(chunk)
        commits = _commits_asked(query)
        page = {
            "pageInfo": {"hasNextPage": end < len(nodes), "endCursor": _cursor(end - 1)},
            "nodes": [_truncate_commits(_truncate_timeline(node), commits) for node in chunk],
        }
        # GitHub's documented cost: the requests each connection needs, / 100, at least 1.
        return {"pullRequests": page}, max(1, round((1 + 3 * first) / 100))

    def _timeline_page(
        self, repo: FakeRepo, variables: dict[str, Any]
    ) -> tuple[dict[str, Any], int]:
        node = repo.prs[int(variables["number"])]
        items = node["timelineItems"]["nodes"]
        start = _offset(variables.get("after"))
        chunk = items[start : start + 100]
        end = start + len(chunk)
        timeline = {
            "pageInfo": {"hasNextPage": end < len(items), "endCursor": _cursor(end - 1)},
            "nodes": chunk,
        }
        return {"pullRequest": {"timelineItems": timeline}}, 1

    def _commits_page(
        self, repo: FakeRepo, variables: dict[str, Any], query: str
    ) -> tuple[dict[str, Any], int]:
        node = repo.prs[int(variables["number"])]
        commits = _page_of(node["commits"]["nodes"], variables.get("after"), _commits_asked(query))
        return {"pullRequest": {"commits": commits}}, 1


DOCS = "https://docs.github.com/rest"


def _field(record: Any, name: str) -> Any:
    """A field of a record a test may have made malformed (not an object): None then."""
    return record.get(name) if isinstance(record, dict) else None


def _shown_hook(hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as GitHub answers it: the secret masked."""
    config = {k: ("********" if k == "secret" else v) for k, v in hook["config"].items()}
    return {**hook, "config": config}


def rest_pull(node: dict[str, Any]) -> dict[str, Any]:
    """The REST shape of a pull request kept as a GraphQL node."""
    return {
        "number": node["number"],
        "state": "open" if node["state"] == "OPEN" else "closed",
        "title": node["title"],
        "html_url": node["url"],
        "user": {"login": (node.get("author") or {}).get("login")},
        "draft": node.get("isDraft", False),
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "head": {"ref": node.get("headRefName")},
    }


def project(value: Any, query: str) -> Any:
    """Keep only the fields named in ``query`` (GraphQL answers hold what was asked)."""
    return _keep(value, frozenset(re.findall(r"[A-Za-z_]\w*", query)))


def _keep(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _keep(v, names) for k, v in value.items() if k in names}
    if isinstance(value, list):
        return [_keep(v, names) for v in value]
    return value


def _by_update(nodes: Any) -> list[dict[str, Any]]:
    """Newest update first (``orderBy: {field: UPDATED_AT, direction: DESC}``)."""
    return sorted(nodes, key=lambda n: (n["updatedAt"], n["number"]), reverse=True)


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) + 1


def _commits_asked(query: str) -> int:
    """The page size of the ``commits`` connection a query asks for (``first: n``)."""
    found = re.search(r"commits\(first: (\d+)", query)
    return int(found[1]) if found else 0


def _page_of(items: list[Any], after: str | None, size: int) -> dict[str, Any]:
    """One page of a connection: ``size`` items after the cursor, with ``pageInfo``."""
    start = _offset(after)
    chunk = items[start : start + size]
    end = start + len(chunk)
    return {
        "totalCount": len(items),
        "pageInfo": {"hasNextPage": end < len(items), "endCursor": _cursor(end - 1)},
        "nodes": chunk,
    }


def _truncate_commits(node: dict[str, Any], size: int) -> dict[str, Any]:
    if "commits" not in node:
        return node
    return {**node, "commits": _page_of(node["commits"]["nodes"], None, size)}


def _truncate_timeline(node: dict[str, Any]) -> dict[str, Any]:
    items = node.get("timelineItems", {"nodes": []})["nodes"]
    timeline = {
        "pageInfo": {
            "hasNextPage": len(items) > 100,
            "endCursor": _cursor(min(len(items), 100) - 1),
        },
        "nodes": items[:100],
    }
    return {**node, "timelineItems": timeline}


def _ancestors(repo: FakeRepo, sha: str) -> set[str]:
    seen, todo = set(), [sha]
    while todo:
        current = todo.pop()
        if current in seen or current not in repo.commits:
            continue
        seen.add(current)
        todo += [p["sha"] for p in repo.commits[current].get("parents", [])]
    return seen


# -- builders for tests: GitHub-shaped records with sensible defaults ----------------------------


def pr_node(
    number: int,
    *,
    title: str,
    created: str,
    updated: str,
    author: str = "alice",
    author_type: str = "User",
    state: str = "OPEN",
    draft: bool = False,
    merged: str | None = None,
    closed: str | None = None,
    merge_sha: str | None = None,
    branch: str = "main-work",
    body: str = "",
    first_commit: str | None = None,
    commit_dates: list[str] | None = None,
    timeline: list[dict[str, Any]] | None = None,
    labels: tuple[str, ...] = (),
    size: tuple[int, int, int] = (10, 2, 1),
    repo: str = "acme/api",
    milestone: Any = None,
) -> dict[str, Any]:
    """A GraphQL ``PullRequest`` node as GitHub returns it.

    Its commits are authored at ``commit_dates``, in the order GitHub lists them (default: one
    commit authored at ``first_commit``, else at ``created``). ``milestone`` is the node's
    ``milestone`` as given (a :func:`milestone` object, None, or something malformed).
    """
    dates = commit_dates or [first_commit or created]
    return {
        "number": number,
        "title": title,
        "url": f"https://github.com/{repo}/pull/{number}",
        "state": state,
        "isDraft": draft,
        "createdAt": created,
        "updatedAt": updated,
        "closedAt": closed or merged,
        "mergedAt": merged,
        "additions": size[0],
        "deletions": size[1],
        "changedFiles": size[2],
        "headRefName": branch,
        "body": body,
        "author": {"__typename": author_type, "login": author},
        "mergeCommit": {"oid": merge_sha} if merge_sha else None,
        "labels": {"nodes": [{"name": name} for name in labels]},
        "commits": {"nodes": [{"commit": {"authoredDate": at}} for at in dates]},
        "timelineItems": {"nodes": timeline or []},
        "milestone": milestone,
    }


def milestone(
    number: int,
    title: str,
    *,
    due_on: str | None = None,
    state: str = "open",
    repo: str = "acme/api",
) -> dict[str, Any]:
    """A milestone as GitHub's REST API lists it (GraphQL names the same fields in camelCase)."""
    return {
        "url": f"https://api.github.com/repos/{repo}/milestones/{number}",
        "html_url": f"https://github.com/{repo}/milestone/{number}",
        "id": 1000 + number,
        "number": number,
        "state": state,
        "title": title,
        "description": None,
        "open_issues": 0,
        "closed_issues": 0,
        "created_at": "2026-10-01T09:00:00Z",
        "updated_at": "2026-10-01T09:00:00Z",
        "closed_at": None,
        "due_on": due_on,
    }


def review(state: str, at: str | None, login: str, typename: str = "User") -> dict[str, Any]:
    """A ``PullRequestReview`` timeline item."""
    return {
        "__typename": "PullRequestReview",
        "state": state,
        "submittedAt": at,
        "author": {"__typename": typename, "login": login},
    }


def requested(at: str, login: str, typename: str = "User") -> dict[str, Any]:
    """A ``ReviewRequestedEvent`` timeline item (a Team gives a ``slug``)."""
    reviewer = {"__typename": typename, "slug" if typename == "Team" else "login": login}
    return {"__typename": "ReviewRequestedEvent", "createdAt": at, "requestedReviewer": reviewer}


def ready(at: str) -> dict[str, Any]:
    """A ``ReadyForReviewEvent`` timeline item."""
    return {"__typename": "ReadyForReviewEvent", "createdAt": at}


def commit(sha: str, parents: list[str], message: str, date: str) -> dict[str, Any]:
    """A commit as the compare API lists it."""
    return {
        "sha": sha,
        "parents": [{"sha": p} for p in parents],
        "commit": {"message": message, "author": {"name": "Dev", "date": date}},
    }
