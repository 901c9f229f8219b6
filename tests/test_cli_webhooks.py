"""``vsm webhooks``: the setup per vendor, and ``--install`` against the fake GitHub and GitLab."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import cli
from tests.conftest import NOW
from tests.fake_github import FakeGitHub
from tests.fake_gitlab import FakeGitLab

GITHUB_TOKEN = "ghp-webhooks-cli-token"
GITLAB_TOKEN = "glpat-webhooks-cli-token"
SECRET = "hook-secret-value-1"
BASE = "https://vsm.example.com"
WIDE = 400


def write_config(tmp_path: Path, github_url: str, gitlab_url: str, extra_team: str = "") -> str:
    config = tmp_path / "app.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            database: sqlite:///{tmp_path / "vsm.db"}
            teams:
              - name: payments
                sources:
                  - type: github
                    token: ${{GITHUB_TOKEN}}
                    api_url: {github_url}
                    repos: [acme/api, acme/web]
                    incident_label: incident
                    webhook_secret: ${{GH_HOOK_SECRET}}
                  - type: gitlab
                    token: ${{GITLAB_TOKEN}}
                    api_url: {gitlab_url}
                    projects: [acme/pay]
                    webhook_secret: ${{GL_HOOK_SECRET:-}}
                  - type: jira
                    name: "core[bold]jira"
                    url: https://acme.atlassian.net
                    project: PAY
                    email: bot@acme.example
                    api_token: ${{JIRA_TOKEN}}
                    webhook_secret: ${{JIRA_HOOK_SECRET}}
                  - type: pagerduty
                    token: ${{PD_TOKEN}}
                    services: [PSVC1]
                    webhook_secret: written-in-the-file
                  - type: csv
                    path: items.csv
                workflow:
                  To Do: backlog
                  Done: done
            """
        )
        + textwrap.indent(textwrap.dedent(extra_team), "  ")
    )
    return str(config)


def env(**more: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "GITLAB_TOKEN": GITLAB_TOKEN,
        "JIRA_TOKEN": "jira-api-token",
        "PD_TOKEN": "pd-token",
        "GH_HOOK_SECRET": SECRET,
        "JIRA_HOOK_SECRET": "jira-hook-secret",
        "VSM_PUBLIC_URL": "",
        "COLUMNS": str(WIDE),
        **more,
    }


def run(config: str, *args: str, **environment: str) -> Result:
    return CliRunner(env=env(**environment)).invoke(
        cli, ["--config", config, "webhooks", *args], obj=lambda: NOW, terminal_width=WIDE
    )


def row_of(output: str, key: str) -> str:
    """The last table row naming ``key`` (the install table comes after the setup table)."""
    return [line for line in output.splitlines() if key in line][-1]


def test_each_vendor_gets_its_url_events_and_secret_variable(tmp_path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9/api/v4")

    result = run(config, "--base-url", BASE + "/")

    assert result.exit_code == 0, result.output
    github = row_of(result.output, "payments/github")
    assert f"{BASE}/webhooks/github " in github
    events = ("pull_request,", "pull_request_review", "deployment_status", "milestone")
    for event in (*events, "workflow_run"):
        assert event in github
    assert "issues" in github  # the source reads incidents from labelled issues
    assert "env GH_HOOK_SECRET" in github
    gitlab = row_of(result.output, "payments/gitlab")
    assert "Merge request events, Pipeline events, Deployment events, Issues events" in gitlab
    assert "GL_HOOK_SECRET, empty: export it" in gitlab
    jira = row_of(result.output, "payments/core[bold]jira")  # printed as written, not as markup
    assert f"{BASE}/webhooks/core%5Bbold%5Djira" in jira
    assert "jira:issue_created, jira:issue_updated, jira:issue_deleted" in jira
    assert "jira:version_updated" in jira  # a release date moved: the release scope's target
    assert "env JIRA_HOOK_SECRET" in jira
    pagerduty = row_of(result.output, "payments/pagerduty")
    assert "incident.triggered" in pagerduty and "incident.resolved" in pagerduty
    assert "move it to the environment, webhook_secret: ${PAGERDUTY_WEBHOOK_SECRET}" in pagerduty
    assert "payments/csv" not in result.output  # no webhooks for a file
    assert "Generic Webhooks (v3)" in result.output and "Settings > Webhooks" in result.output
    for secret in (SECRET, "jira-hook-secret", "written-in-the-file", GITHUB_TOKEN):
        assert secret not in result.output
    assert "The base URL is" not in result.output


def test_a_source_without_secret_is_told_what_to_add_and_the_url_waits_for_the_base(
    tmp_path,
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9/api/v4")

    result = run(config, "--team", "payments", GH_HOOK_SECRET="", JIRA_HOOK_SECRET="x")

    assert result.exit_code == 0, result.output
    github = row_of(result.output, "payments/github")
    assert "<VSM_PUBLIC_URL>/webhooks/github" in github
    assert "GH_HOOK_SECRET, empty: export it" in github
    assert "The base URL is the public https address" in result.output
    assert "--webhooks-port" in result.output


def test_the_base_url_comes_from_the_environment_and_must_be_http(tmp_path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9/api/v4")

    from_env = run(config, VSM_PUBLIC_URL="https://hooks.acme.example")
    bad = run(config, "--base-url", "javascript:alert(1)")
    no_base = run(config, "--install")

    assert "https://hooks.acme.example/webhooks/github" in from_env.output
    assert bad.exit_code == 2 and "public address of vsm serve" in bad.output
    assert no_base.exit_code == 2 and "--install needs the base URL" in no_base.output


def test_install_creates_the_hooks_then_updates_them_in_place(tmp_path) -> None:
    with FakeGitHub(token=GITHUB_TOKEN) as github, FakeGitLab(token=GITLAB_TOKEN) as gitlab:
        github.repo("acme/api")
        github.repo("acme/web")
        gitlab.project("acme/pay")
        config = write_config(tmp_path, github.api_url, gitlab.api_url)

        first = run(config, "--base-url", BASE, "--install", GL_HOOK_SECRET="gl-secret")
        second = run(config, "--base-url", BASE, "--install", GL_HOOK_SECRET="gl-rotated")

    assert first.exit_code == 0, first.output
    assert "created" in row_of(first.output, "acme/api")
    assert "created" in row_of(first.output, "acme/pay")
    assert second.exit_code == 0, second.output
    assert "updated" in row_of(second.output, "acme/web")
    assert "updated" in row_of(second.output, "acme/pay")
    assert "by hand" in row_of(second.output, "payments/pagerduty")
    for repo in ("acme/api", "acme/web"):
        (hook,) = github.hooks[repo]
        assert hook["config"] == {
            "url": f"{BASE}/webhooks/github",
            "content_type": "json",
            "secret": SECRET,
        }
        assert "pull_request_review" in hook["events"] and hook["active"] is True
    (hook,) = gitlab.hooks["acme/pay"]
    assert hook["url"] == f"{BASE}/webhooks/gitlab" and hook["token"] == "gl-rotated"
    assert hook["merge_requests_events"] and hook["deployment_events"] and hook["pipeline_events"]
    assert hook["push_events"] is False
    assert github.count("/hooks/", method="PATCH") == 2
    assert gitlab.count("/hooks/", method="PUT") == 1
    for output in (first.output, second.output):
        assert SECRET not in output and "gl-secret" not in output and "gl-rotated" not in output


def test_install_says_which_permission_the_token_lacks(tmp_path) -> None:
    with FakeGitHub(token=GITHUB_TOKEN) as github, FakeGitLab(token=GITLAB_TOKEN) as gitlab:
        github.repo("acme/api")
        github.repo("acme/web")
        gitlab.project("acme/pay")
        github.hook_admin = False
        gitlab.maintainer = False
        config = write_config(tmp_path, github.api_url, gitlab.api_url)

        result = run(config, "--base-url", BASE, "--install", GL_HOOK_SECRET="gl-secret")

    assert result.exit_code == 1
    github_row = row_of(result.output, "acme/api")
    assert "GitHub answered 404" in github_row and "admin:repo_hook" in github_row
    assert "Webhooks repository permission" in github_row
    assert "Maintainer role" in row_of(result.output, "acme/pay")
    assert github.hooks == {} and gitlab.hooks == {}


def test_install_skips_a_source_without_secret_and_registers_a_shared_one_once(tmp_path) -> None:
    shared = """
        - name: platform
          sources:
            - type: github
              token: ${GITHUB_TOKEN}
              api_url: API_URL
              repos: [acme/api]
              webhook_secret: ${GH_HOOK_SECRET}
          workflow:
            To Do: backlog
            Done: done
    """
    with FakeGitHub(token=GITHUB_TOKEN) as github, FakeGitLab(token=GITLAB_TOKEN) as gitlab:
        github.repo("acme/api")
        github.repo("acme/web")
        gitlab.project("acme/pay")
        extra = shared.replace("API_URL", github.api_url)
        config = write_config(tmp_path, github.api_url, gitlab.api_url, extra)

        result = run(config, "--base-url", BASE, "--install")

    assert result.exit_code == 0, result.output
    assert "skipped: no webhook_secret" in row_of(result.output, "payments/gitlab")
    assert gitlab.hooks == {}
    assert github.count("/repos/acme/api/hooks$", method="POST") == 1
    (hook,) = github.hooks["acme/api"]
    assert hook["config"]["url"] == f"{BASE}/webhooks/github"
