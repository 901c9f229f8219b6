"""A fake GitLab REST API (v4) on a real loopback HTTP server, serving documented shapes.

Projects are addressed by URL-encoded path (``acme%2Fapi``). Lists use offset pagination with
GitLab's headers (``X-Page``, ``X-Next-Page`` (empty on the last page), ``X-Per-Page``,
``X-Total``, ``X-Total-Pages``, ``Link``); requests authenticate with ``PRIVATE-TOKEN``. Served:
merge requests (``state``, ``updated_after`` on or after, ``order_by=updated_at``), their notes
and commits, deployments and pipelines (``order_by=id&sort=desc``), repository commits over a
``ref_name=A..B`` range with ``first_parent``, a commit's merge requests, and issues.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fake_github import FakeServer, Reply, Request, paged

API = "/api/v4"


@dataclass
class FakeProject:
    """One project's data, as GitLab would hold it."""

    merge_requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    mr_commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    commit_mrs: dict[str, list[int]] = field(default_factory=dict)


class FakeGitLab(FakeServer):
    """GitLab's REST API over in-memory projects."""

    def __init__(self, token: str = "glpat-test-token") -> None:
        super().__init__()
        self.token = token
        self.projects: dict[str, FakeProject] = {}

    @property
    def api_url(self) -> str:
        return self.url + API

    def project(self, path: str) -> FakeProject:
        return self.projects.setdefault(path, FakeProject())

    def load(self, path: str, fixture: dict[str, Any]) -> FakeProject:
        """Fill project ``path`` from a fixture document (see fixtures/gitlab/)."""
        project = self.project(path)
        for mr in fixture.get("merge_requests", []):
            project.merge_requests[mr["iid"]] = mr
        for iid, notes in fixture.get("notes", {}).items():
            project.notes[int(iid)] = notes
        for iid, commits in fixture.get("mr_commits", {}).items():
            project.mr_commits[int(iid)] = commits
        project.deployments += fixture.get("deployments", [])
        project.pipelines += fixture.get("pipelines", [])
        project.issues += fixture.get("issues", [])
        for commit in fixture.get("commits", []):
            project.commits[commit["id"]] = commit
        project.commit_mrs.update(fixture.get("commit_merge_requests", {}))
        return project

    def route(self, request: Request) -> Reply:
        if request.headers.get("private-token") != self.token:
            return Reply(401, {"message": "401 Unauthorized"})
        match = re.fullmatch(API + r"/projects/(?P<project>[^/]+)(?P<rest>/.*)", request.path)
        project = self.projects.get(unquote(match["project"])) if match else None
        if match is None or project is None:
            return Reply(404, {"message": "404 Project Not Found"})
        rest = match["rest"]
        for pattern, handler in (
            (r"/merge_requests", self._merge_requests),
            (r"/merge_requests/(?P<iid>\d+)/notes", self._notes),
            (r"/merge_requests/(?P<iid>\d+)/commits", self._mr_commits),
            (r"/deployments", self._deployments),
            (r"/pipelines", self._pipelines),
            (r"/repository/commits", self._commits),
            (r"/repository/commits/(?P<sha>\w+)/merge_requests", self._commit_mrs),
            (r"/issues", self._issues),
        ):
            found = re.fullmatch(pattern, rest)
            if found:
                return handler(request, project, **found.groupdict())
        return Reply(404, {"message": "404 Not Found"})

    def _list(self, request: Request, items: list[Any]) -> Reply:
        chunk, headers = paged(self.url, request, items, default_per_page=20)
        per_page = min(100, int(request.arg("per_page") or 20))
        page = int(request.arg("page") or 1)
        pages = max(1, -(-len(items) // per_page))
        headers.update(
            {
                "X-Page": str(page),
                "X-Per-Page": str(per_page),
                "X-Next-Page": str(page + 1) if page < pages else "",
                "X-Total": str(len(items)),
                "X-Total-Pages": str(pages),
                "RateLimit-Limit": "2000",
                "RateLimit-Remaining": "1999",
                "RateLimit-Reset": "1900000000",
            }
        )
        return Reply(200, chunk, headers)

    def _merge_requests(self, request: Request, project: FakeProject) -> Reply:
        mrs = list(project.merge_requests.values())
        state = request.arg("state", "all")
        if state != "all":
            mrs = [mr for mr in mrs if mr["state"] == state]
        after = request.arg("updated_after")
        if after:
            mrs = [mr for mr in mrs if _instant(mr["updated_at"]) >= _instant(after)]
        mrs.sort(key=lambda mr: (mr["updated_at"], mr["iid"]), reverse=request.arg("sort") != "asc")
        return self._list(request, mrs)

    def _notes(self, request: Request, project: FakeProject, iid: str) -> Reply:
        notes = sorted(project.notes.get(int(iid), []), key=lambda n: (n["created_at"], n["id"]))
        return self._list(request, notes if request.arg("sort") == "asc" else notes[::-1])

    def _mr_commits(self, request: Request, project: FakeProject, iid: str) -> Reply:
        return self._list(request, project.mr_commits.get(int(iid), []))

    def _deployments(self, request: Request, project: FakeProject) -> Reply:
        return self._list(request, sorted(project.deployments, key=lambda d: -d["id"]))

    def _pipelines(self, request: Request, project: FakeProject) -> Reply:
        return self._list(request, sorted(project.pipelines, key=lambda p: -p["id"]))

    def _commits(self, request: Request, project: FakeProject) -> Reply:
        base, _, head = (request.arg("ref_name") or "").partition("..")
        if base not in project.commits or head not in project.commits:
            return Reply(404, {"message": "404 Commit Not Found"})
        excluded = _ancestors(project, base)
        chain, sha = [], head
        while sha in project.commits and sha not in excluded:
            chain.append(project.commits[sha])  # newest first, along first parents
            parents = project.commits[sha]["parent_ids"]
            sha = parents[0] if parents else ""
        return self._list(request, chain)

    def _commit_mrs(self, request: Request, project: FakeProject, sha: str) -> Reply:
        iids = project.commit_mrs.get(sha, [])
        return Reply(200, [project.merge_requests[i] for i in iids])

    def _issues(self, request: Request, project: FakeProject) -> Reply:
        wanted = {x for x in (request.arg("labels") or "").split(",") if x}
        after = request.arg("updated_after")
        issues = [
            i
            for i in project.issues
            if wanted <= set(i["labels"])
            and (after is None or _instant(i["updated_at"]) >= _instant(after))
        ]
        issues.sort(key=lambda i: i["updated_at"], reverse=True)
        return self._list(request, issues)


def _instant(text: str) -> str:
    """A sortable UTC form of GitLab's ``2026-11-02T09:00:00.000Z`` and of ``...Z`` queries."""
    return re.sub(r"\.\d+", "", text).replace("+00:00", "Z")


def _ancestors(project: FakeProject, sha: str) -> set[str]:
    seen, todo = set(), [sha]
    while todo:
        current = todo.pop()
        if current in seen or current not in project.commits:
            continue
        seen.add(current)
        todo += project.commits[current]["parent_ids"]
    return seen
