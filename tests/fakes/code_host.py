"""A real HTTP server answering the GitHub and GitLab REST calls fix delivery makes, recording each
request (method, raw path, headers, JSON body) so tests can check what was sent.

GitHub: ``GET /repos/{owner}/{repo}``, ``POST /repos/{owner}/{repo}/pulls``.
GitLab: ``GET /api/v4/projects/{id}``, ``POST /api/v4/projects/{id}/merge_requests`` (``id`` URL-encoded).
``fail_next`` makes the next pull/merge request answer with that status instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tests.fakes import serving


@dataclass
class CodeHost:
    """The server's state."""

    url: str = ""
    default_branch: str = "main"
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int | None = None

    def opened(self) -> list[dict[str, Any]]:
        """The requests that opened a pull or merge request."""
        return [r for r in self.requests if r["method"] == "POST"]


def _app(state: CodeHost) -> FastAPI:
    app = FastAPI()

    async def record(request: Request) -> dict[str, Any]:
        body = await request.body()
        entry = {"method": request.method, "path": request.scope["raw_path"].decode(),
                 "headers": {k.lower(): v for k, v in request.headers.items()},
                 "json": await request.json() if body else None}
        state.requests.append(entry)
        return entry

    def failing() -> JSONResponse | None:
        if state.fail_next is None:
            return None
        status, state.fail_next = state.fail_next, None
        return JSONResponse({"message": "Validation Failed"}, status_code=status)

    @app.get("/repos/{owner}/{repo}")
    async def github_repo(owner: str, repo: str, request: Request) -> dict[str, Any]:
        await record(request)
        return {"full_name": f"{owner}/{repo}", "default_branch": state.default_branch}

    @app.post("/repos/{owner}/{repo}/pulls", status_code=201, response_model=None)
    async def github_pull(owner: str, repo: str, request: Request) -> dict[str, Any] | JSONResponse:
        await record(request)
        number = len(state.opened())
        return failing() or {"number": number, "html_url": f"https://github.test/{owner}/{repo}/pull/{number}",
                             "state": "open"}

    @app.get("/api/v4/projects/{project:path}")
    async def gitlab_project(project: str, request: Request) -> dict[str, Any]:
        await record(request)
        return {"path_with_namespace": project, "default_branch": state.default_branch}

    @app.post("/api/v4/projects/{project:path}/merge_requests", status_code=201, response_model=None)
    async def gitlab_merge_request(project: str, request: Request) -> dict[str, Any] | JSONResponse:
        await record(request)
        iid = len(state.opened())
        return failing() or {"iid": iid, "web_url": f"https://gitlab.test/{project}/-/merge_requests/{iid}",
                             "state": "opened"}

    return app


@contextmanager
def running() -> Iterator[CodeHost]:
    """The server on a free loopback port for the length of a ``with`` block."""
    state = CodeHost()
    with serving.running(_app(state)) as url:
        state.url = url
        yield state
