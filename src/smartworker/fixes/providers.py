"""Pull requests (GitHub) and merge requests (GitLab) for approved fixes, over the hosts' REST APIs
with httpx; opt-in with FIX_PR_PROVIDER, FIX_PR_TOKEN and FIX_PR_REPOSITORY.

GitHub: ``GET /repos/{owner}/{repo}`` (default branch), ``POST /repos/{owner}/{repo}/pulls`` with
``title``, ``head``, ``base``, ``body``; a Bearer token and ``X-GitHub-Api-Version: 2022-11-28``.
GitLab: ``GET /projects/:id`` and ``POST /projects/:id/merge_requests`` with ``source_branch``,
``target_branch``, ``title``, ``description``; ``:id`` is the URL-encoded path; a ``PRIVATE-TOKEN``.
The branch is pushed first with git (fixes/git.py), authenticated by the same token over HTTPS.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from smartworker.config import Settings
from smartworker.errors import DeliveryError
from smartworker.fixes.delivery import evidence
from smartworker.fixes.git import Repository
from smartworker.reasoning.records import FixRecord
from smartworker.redaction import redact_text

#: Seconds for one REST call.
HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PullRequest:
    """An opened pull or merge request."""

    url: str
    number: int


class CodeHost(Protocol):
    """A code host that can open a pull request for a pushed branch."""

    name: str
    push_user: str  #: user name that goes with the token for a push over HTTPS

    async def default_branch(self) -> str:
        """The repository's default branch."""
        ...

    async def open(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request from ``head`` into ``base``."""
        ...


class _RestHost:
    """Shared request handling: one client, errors as DeliveryError naming the call (never the token)."""

    name = "host"

    def __init__(self, http: httpx.AsyncClient, api_url: str, headers: dict[str, str]) -> None:
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.headers = headers

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            answer = await self.http.request(method, self.api_url + path, json=body, headers=self.headers,
                                             timeout=HTTP_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.name} unreachable ({method} {path}): {type(exc).__name__}") from None
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if answer.status_code >= 300:
            message = data.get("message") if isinstance(data, dict) else None
            raise DeliveryError(f"{self.name} answered {answer.status_code} to {method} {path}: "
                                f"{str(message or answer.reason_phrase)[:300]}")
        if not isinstance(data, dict):
            raise DeliveryError(f"{self.name} answered {method} {path} with something other than an object")
        return data


class GitHub(_RestHost):
    """GitHub's REST API (api.github.com, or a GitHub Enterprise ``/api/v3``)."""

    name = "GitHub"
    push_user = "x-access-token"
    API_URL = "https://api.github.com"

    def __init__(self, http: httpx.AsyncClient, repository: str, token: str, api_url: str | None = None) -> None:
        super().__init__(http, api_url or self.API_URL, {
            "Accept": "application/vnd.github+json", "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28"})
        self.path = "/repos/" + "/".join(quote(part, safe="") for part in repository.split("/"))

    async def default_branch(self) -> str:
        """``default_branch`` of the repository."""
        return str((await self._call("GET", self.path))["default_branch"])

    async def open(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """``POST /repos/{owner}/{repo}/pulls``."""
        made = await self._call("POST", self.path + "/pulls", {"title": title, "head": head, "base": base,
                                                                  "body": body})
        return PullRequest(str(made["html_url"]), int(made["number"]))


class GitLab(_RestHost):
    """GitLab's REST API v4 (gitlab.com or a self-managed instance)."""

    name = "GitLab"
    push_user = "oauth2"
    API_URL = "https://gitlab.com/api/v4"

    def __init__(self, http: httpx.AsyncClient, repository: str, token: str, api_url: str | None = None) -> None:
        super().__init__(http, api_url or self.API_URL, {"PRIVATE-TOKEN": token})
        self.path = "/projects/" + quote(repository, safe="")

    async def default_branch(self) -> str:
        """``default_branch`` of the project."""
        return str((await self._call("GET", self.path))["default_branch"])

    async def open(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """``POST /projects/:id/merge_requests``."""
        made = await self._call("POST", self.path + "/merge_requests", {
            "source_branch": head, "target_branch": base, "title": title, "description": body})
        return PullRequest(str(made["web_url"]), int(made["iid"]))


def code_host(settings: Settings, http: httpx.AsyncClient) -> CodeHost | None:
    """The configured code host, None when FIX_PR_PROVIDER is none."""
    if settings.fix_pr_provider == "none":
        return None
    assert settings.fix_pr_repository is not None and settings.fix_pr_token is not None  # settings check both
    kind = GitHub if settings.fix_pr_provider == "github" else GitLab
    return kind(http, settings.fix_pr_repository, settings.fix_pr_token, settings.fix_pr_api_url)


def title(record: FixRecord) -> str:
    """The pull request's title."""
    return redact_text(f"SmartWorker fix: {record.job_name}: {record.signature}").splitlines()[0][:200]


def description(record: FixRecord) -> str:
    """The pull request's description: what failed, the summary and the verdict's evidence (Markdown)."""
    lines = [
        "SmartWorker made this change for a job that failed for good, and verified it: the failed job "
        "completes against it in the sandbox.", "",
        f"- **Handler:** `{record.job_name}` on queue `{record.queue}` (job {record.job_id})",
        f"- **Error:** `{redact_text(record.signature)}`",
        f"- **Fix record:** `{record.id}`", "",
    ]
    if record.summary:
        lines += ["### Summary", redact_text(record.summary), ""]
    lines += ["### Evidence", *(f"- {line}" for line in evidence(record)), "",
              "### After it is merged and released",
              f"`smartworker fix deployed {record.id}` (or `POST /fixes/{record.id}/deployed`) retries the "
              "dead jobs that failed the same way."]
    return "\n".join(lines)


async def open_pull_request(settings: Settings, record: FixRecord, http: httpx.AsyncClient) -> PullRequest:
    """Push the fix's branch to FIX_PR_REMOTE and open its pull request; DeliveryError says why not."""
    host = code_host(settings, http)
    review = record.review
    if host is None:
        raise DeliveryError("no pull request provider is configured (FIX_PR_PROVIDER)")
    if review is None or review.branch is None or review.commit is None:
        why = review.no_branch if review is not None else "not a verified fix"
        raise DeliveryError(f"no branch to push: {why}")
    repo, why = Repository.of(settings.app_root)
    if repo is None:
        raise DeliveryError(f"no branch to push: {why}")
    remote = settings.fix_pr_remote
    url = await asyncio.to_thread(repo.remote_url, remote) or remote
    env: dict[str, str] = {}
    if url.startswith(("https://", "http://")) and settings.fix_pr_token:
        # The token reaches git through the environment (not argv, which other users can read).
        basic = base64.b64encode(f"{host.push_user}:{settings.fix_pr_token}".encode()).decode()
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
               "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}
    await asyncio.to_thread(repo.push, remote, review.commit, review.branch, env)
    base = settings.fix_pr_base or await host.default_branch()
    return await host.open(head=review.branch, base=base, title=title(record), body=description(record))
