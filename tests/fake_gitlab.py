"""A fake GitLab REST API (v4) on a real loopback HTTP server, serving documented shapes.

Projects are addressed by URL-encoded path (``acme%2Fapi``). Lists use offset pagination with
GitLab's headers (``X-Page``, ``X-Next-Page`` (empty on the last page), ``X-Per-Page``,
``X-Total``, ``X-Total-Pages``, ``Link``); as on GitLab, ``X-Total``, ``X-Total-Pages`` and the
``rel="last"`` link are left out when a list holds more than :attr:`FakeGitLab.count_limit`
(10,000) records. Requests authenticate with ``PRIVATE-TOKEN``. Served: merge requests
(``state``, ``updated_after`` on or after, ``order_by=updated_at``), their notes and commits,
deployments (``order_by=id&sort=desc``), environments (with their ``tier``), pipelines
(``updated_after``, ``order_by=id|updated_at``) and a single pipeline, repository commits over a
``ref_name=A..B`` range with ``first_parent``, a commit's merge requests, and issues (``labels``,
``issue_type``, ``updated_after``), milestones (the project's, with its parent groups' under
``include_ancestors``; a merge request may carry its ``milestone``), and project webhooks (list,
create, update with ``PUT``; a 403 when the token's user is not a Maintainer).

The fake holds full objects but a list answers only the fields GitLab's list entity has: a
deployment's environment is the basic entity (no ``tier``) and a deployment has no ``finished_at``
of its own (its job, ``deployable``, has); a listed pipeline has no ``started_at`` or
``finished_at`` (the single pipeline has). So a source reading a field the list lacks finds it
missing here as it would on GitLab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fake_github import FakeServer, Reply, Request, paged

API = "/api/v4"
COUNT_LIMIT = 10_000
"""GitLab counts a list (``X-Total``) only up to this many records."""
DEPLOYMENT_FIELDS = (
    "id",
    "iid",
    "ref",
    "sha",
    "created_at",
    "updated_at",
    "user",
    "environment",
    "deployable",
    "status",
)
ENVIRONMENT_BASIC_FIELDS = ("id", "name", "slug", "external_url", "created_at", "updated_at")
PIPELINE_LIST_FIELDS = (
    "id",
    "iid",
    "project_id",
    "status",
    "source",
    "ref",
    "sha",
    "name",
    "web_url",
    "created_at",
    "updated_at",
)


@dataclass
class FakeProject:
    """One project's data, as GitLab would hold it."""

    merge_requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    mr_commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    commit_mrs: dict[str, list[int]] = field(default_factory=dict)
    milestones: list[dict[str, Any]] = field(default_factory=list)


class FakeGitLab(FakeServer):
    """GitLab's REST API over in-memory projects."""

    def __init__(self, token: str = "glpat-test-token") -> None:
        super().__init__()
        self.token = token
        self.projects: dict[str, FakeProject] = {}
        self.count_limit = COUNT_LIMIT
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        """Each project's webhooks (``/projects/:id/hooks``)."""
        self.maintainer = True
        """Whether the token's user may manage webhooks; GitLab answers 403 otherwise."""
        self.group_milestones: dict[str, list[dict[str, Any]]] = {}
        """Each group's milestones, listed with a project's under ``include_ancestors``."""

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
        project.environments += fixture.get("environments", [])
        project.pipelines += fixture.get("pipelines", [])
        project.issues += fixture.get("issues", [])
        for commit in fixture.get("commits", []):
            project.commits[commit["id"]] = commit
        project.commit_mrs.update(fixture.get("commit_merge_requests", {}))
        project.milestones += fixture.get("milestones", [])
        return project

    def route(self, request: Request) -> Reply:
        if request.headers.get("private-token") != self.token:
            return Reply(401, {"message": "401 Unauthorized"})
        match = re.fullmatch(API + r"/projects/(?P<project>[^/]+)(?P<rest>/.*)", request.path)
        project = self.projects.get(unquote(match["project"])) if match else None
        if match is None or project is None:
            return Reply(404, {"message": "404 Project Not Found"})
        rest = match["rest"]
        hooks = re.fullmatch(r"/hooks(?:/(?P<hook>\d+))?", rest)
        if hooks:
            return self._hooks(request, unquote(match["project"]), hooks["hook"])
        for pattern, handler in (
            (r"/merge_requests", self._merge_requests),
            (r"/merge_requests/(?P<iid>\d+)/notes", self._notes),
            (r"/merge_requests/(?P<iid>\d+)/commits", self._mr_commits),
            (r"/deployments", self._deployments),
            (r"/environments", self._environments),
            (r"/pipelines", self._pipelines),
            (r"/pipelines/(?P<pipeline_id>\d+)", self._pipeline),
            (r"/repository/commits", self._commits),
            (r"/repository/commits/(?P<sha>\w+)/merge_requests", self._commit_mrs),
            (r"/issues", self._issues),
        ):
            found = re.fullmatch(pattern, rest)
            if found:
                return handler(request, project, **found.groupdict())
        if rest == "/milestones":
            return self._milestones(request, project, unquote(match["project"]))
        return Reply(404, {"message": "404 Not Found"})

    def _hooks(self, request: Request, path: str, hook_id: str | None) -> Reply:
        """List, create (``POST``) or update (``PUT .../hooks/:hook_id``) a project's webhooks.

        As GitLab: the secret ``token`` is never answered back.
        """
        if not self.maintainer:
            return Reply(403, {"message": "403 Forbidden"})
        hooks = self.hooks.setdefault(path, [])
        body = request.body or {}
        if hook_id is None and request.method == "GET":
            return self._list(request, [_shown_hook(h) for h in hooks])
        if hook_id is None and request.method == "POST":
            hook = {"id": 2000 + sum(len(h) for h in self.hooks.values()), "push_events": True}
            hook.update(body)
            hooks.append(hook)
            return Reply(201, _shown_hook(hook))
        found = next((h for h in hooks if str(h["id"]) == hook_id), None)
        if found is None or request.method != "PUT":
            return Reply(404, {"message": "404 Not Found"})
        found.update(body)
        return Reply(200, _shown_hook(found))

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
                "RateLimit-Limit": "2000",
                "RateLimit-Remaining": "1999",
                "RateLimit-Reset": "1900000000",
            }
        )
        if len(items) <= self.count_limit:
            headers.update({"X-Total": str(len(items)), "X-Total-Pages": str(pages)})
        elif "Link" in headers:
            headers["Link"] = re.sub(r',\s*<[^>]*>; rel="last"', "", headers["Link"])
        return Reply(200, chunk, headers)

    def _merge_requests(self, request: Request, project: FakeProject) -> Reply:
        mrs = list(project.merge_requests.values())
        state = request.arg("state", "all")
        if state != "all":
            mrs = [mr for mr in mrs if mr["state"] == state]
        mrs = _updated_after(mrs, request.arg("updated_after"))
        mrs.sort(key=lambda mr: (mr["updated_at"], mr["iid"]), reverse=request.arg("sort") != "asc")
        return self._list(request, mrs)

    def _notes(self, request: Request, project: FakeProject, iid: str) -> Reply:
        notes = sorted(project.notes.get(int(iid), []), key=lambda n: (n["created_at"], n["id"]))
        return self._list(request, notes if request.arg("sort") == "asc" else notes[::-1])

    def _mr_commits(self, request: Request, project: FakeProject, iid: str) -> Reply:
        return self._list(request, project.mr_commits.get(int(iid), []))

    def _deployments(self, request: Request, project: FakeProject) -> Reply:
        listed = [_listed_deployment(d) for d in project.deployments]
        return self._list(request, sorted(listed, key=lambda d: -d["id"]))

    def _environments(self, request: Request, project: FakeProject) -> Reply:
        return self._list(request, sorted(project.environments, key=lambda e: e["id"]))

    def _pipelines(self, request: Request, project: FakeProject) -> Reply:
        pipelines = _updated_after(project.pipelines, request.arg("updated_after"))
        order = request.arg("order_by", "id")
        pipelines.sort(key=lambda p: (p.get(order) or "", p["id"]), reverse=True)
        return self._list(request, [_only(p, PIPELINE_LIST_FIELDS) for p in pipelines])

    def _pipeline(self, request: Request, project: FakeProject, pipeline_id: str) -> Reply:
        for pipeline in project.pipelines:
            if pipeline["id"] == int(pipeline_id):
                return Reply(200, pipeline)
        return Reply(404, {"message": "404 Not found"})

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

    def _milestones(self, request: Request, project: FakeProject, path: str) -> Reply:
        """The project's milestones (``state``), newest first (by id).

        Under ``include_ancestors=true`` its ancestor groups' milestones are listed too.
        """
        listed = list(project.milestones)
        if request.arg("include_ancestors") == "true":
            groups = path.split("/")[:-1]
            for depth in range(1, len(groups) + 1):
                listed += self.group_milestones.get("/".join(groups[:depth]), [])
        state = request.arg("state")
        listed = [m for m in listed if state is None or m.get("state") == state]
        return self._list(request, sorted(listed, key=lambda m: -m["id"]))

    def _issues(self, request: Request, project: FakeProject) -> Reply:
        wanted = {x for x in (request.arg("labels") or "").split(",") if x}
        kind = request.arg("issue_type")
        issues = [
            i
            for i in _updated_after(project.issues, request.arg("updated_after"))
            if wanted <= set(i["labels"]) and kind in (None, i.get("issue_type"))
        ]
        issues.sort(key=lambda i: i["updated_at"], reverse=True)
        return self._list(request, issues)


def _updated_after(records: list[dict[str, Any]], after: str | None) -> list[dict[str, Any]]:
    """The records updated on or after ``after`` (all of them for None)."""
    if after is None:
        return list(records)
    return [r for r in records if _instant(r.get("updated_at") or "") >= _instant(after)]


def _only(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: record[name] for name in fields if name in record}


def _listed_deployment(deployment: dict[str, Any]) -> dict[str, Any]:
    listed = _only(deployment, DEPLOYMENT_FIELDS)
    listed["environment"] = _only(deployment["environment"], ENVIRONMENT_BASIC_FIELDS)
    return listed


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


def _shown_hook(hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as GitLab answers it: without its secret token."""
    return {k: v for k, v in hook.items() if k != "token"}


def milestone(
    milestone_id: int,
    title: str,
    *,
    due_date: str | None = None,
    state: str = "active",
    project: str | None = "acme/api",
    group: str | None = None,
) -> dict[str, Any]:
    """A project milestone (or, with ``group``, a group milestone) as GitLab lists it."""
    owner = {"group_id": 77} if group else {"project_id": 16}
    where = f"groups/{group}" if group else str(project)
    return {
        "id": milestone_id,
        "iid": milestone_id % 100,
        **owner,
        "title": title,
        "description": "",
        "state": state,
        "created_at": "2026-10-01T09:00:00.000Z",
        "updated_at": "2026-10-01T09:00:00.000Z",
        "due_date": due_date,
        "start_date": None,
        "expired": False,
        "web_url": f"https://gitlab.example.com/{where}/-/milestones/{milestone_id % 100}",
    }
