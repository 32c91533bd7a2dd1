"""A verified fix made deliverable and reviewed, on real git and real Redis: the branch and its one
commit, the patch ``git am`` applies, the user's own work left alone, apply's refusals, the review
steps, and pull/merge requests against a local server answering the GitHub and GitLab REST calls."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import require
from tests.fakes import code_host
from tests.fakes.code_host import CodeHost
from tests.gitrepo import HOOK_MARKS, UserState, add_own_work, git, make_repo
from tests.shop import FIXED, SIGNATURE, SUMMARY, TASKS, verified

from smartworker import keys
from smartworker.api.app import create_app
from smartworker.auth import ApiKeys, Role
from smartworker.config import Settings
from smartworker.errors import ApplyDisabledError, ApplyRefusedError, ReviewStepError
from smartworker.fixes.delivery import branch_name, deliver
from smartworker.fixes.git import Repository
from smartworker.fixes.review import FixReview
from smartworker.reasoning.records import FixRecord, FixRecords, ReviewState

APP = {"service/shop/__init__.py": "from shop import tasks  # noqa: F401\n", "service/shop/tasks.py": TASKS,
       "NOTES.md": "notes\n", "README.md": "the shop\n"}


@pytest.fixture(autouse=True)
def _git() -> None:
    require(shutil.which("git") is not None, "git is not installed")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The user's repository: the app under service/, with uncommitted work of their own."""
    top = make_repo(tmp_path / "repo", APP)
    add_own_work(top)
    return top


@pytest.fixture
def app_settings(make_settings: Callable[..., Settings], repo: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return make_settings(root_dir=repo / "service", app_module="shop", **overrides)
    return make


async def delivered(settings: Settings, redis: Any, files: dict[str, str] | None = None) -> FixRecord:
    record = verified(settings.app_root, files or {"shop/tasks.py": FIXED})
    patch = await deliver(settings, redis, record, files or {"shop/tasks.py": FIXED})
    assert (patch != "") is (record.review is not None and record.review.patch)
    await FixRecords(redis).save(record)
    return record


async def test_verified_fix_becomes_a_branch_with_one_commit_and_a_patch(
        repo: Path, app_settings: Callable[..., Settings], service: Any, tmp_path: Path) -> None:
    before = UserState.of(repo)
    record = await delivered(app_settings(), service.queues.redis)
    review = record.review
    assert review is not None and review.state is ReviewState.PROPOSED
    assert review.branch == branch_name(record.id) and review.steps[0].by == "smartworker"
    # One commit on top of the user's HEAD, touching only the fixed file, by SmartWorker.
    assert git(repo, "rev-list", "--parents", "-n1", review.branch).split() == [review.commit, before.head]
    assert git(repo, "diff", "--name-only", before.head, review.branch) == "service/shop/tasks.py"
    assert git(repo, "show", f"{review.branch}:service/shop/tasks.py") + "\n" == FIXED
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", review.branch) == (
        "SmartWorker <smartworker@localhost>|SmartWorker <smartworker@localhost>")
    message = git(repo, "log", "-1", "--format=%B", review.branch)
    assert SIGNATURE in message and SUMMARY in message and "Verdict: candidate 1" in message
    assert f"Fix-Record: {record.id}" in message and "Contract review: yes" in message
    # The user's working tree, index, branch and uncommitted work are as they were; no hook ran.
    assert UserState.of(repo) == before
    assert not (repo / HOOK_MARKS).exists()
    # The patch applies with git am on a clean clone.
    patch = await service.queues.redis.get(keys.fix_patch(record.id))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    (tmp_path / "fix.patch").write_text(patch)
    git(clone, "am", str(tmp_path / "fix.patch"))
    assert (clone / "service" / "shop" / "tasks.py").read_text() == FIXED
    # A second delivery of the same record never moves the branch.
    again = verified(app_settings().app_root, {"shop/tasks.py": FIXED})
    again.id = record.id
    await deliver(app_settings(), service.queues.redis, again, {"shop/tasks.py": FIXED})
    assert again.review is not None and again.review.branch is None and "exists" in again.review.no_branch
    assert git(repo, "rev-parse", review.branch) == review.commit


async def test_uncommitted_changes_in_the_touched_file_stay_out_of_the_commit(
        repo: Path, app_settings: Callable[..., Settings], service: Any) -> None:
    tasks = repo / "service" / "shop" / "tasks.py"
    tasks.write_text(TASKS + "\n\n# the user's note, not committed\n")
    files = {"shop/tasks.py": FIXED + "\n\n# the user's note, not committed\n"}
    record = await delivered(app_settings(), service.queues.redis, files)
    assert record.review is not None and record.review.branch is not None
    assert git(repo, "show", f"{record.review.branch}:service/shop/tasks.py") + "\n" == FIXED
    # A fix that rewrites the user's uncommitted lines cannot be separated from them: patch only.
    tasks.write_text(TASKS.replace('name = data.get("name")', 'name = data.get("name")  # user'))
    overlapping = await delivered(app_settings(), service.queues.redis, {"shop/tasks.py": FIXED})
    assert overlapping.review is not None and overlapping.review.branch is None
    assert "overlaps uncommitted changes in shop/tasks.py" in overlapping.review.no_branch
    assert overlapping.review.patch


async def test_outside_git_the_patch_alone(make_settings: Callable[..., Settings], service: Any,
                                           tmp_path: Path) -> None:
    app = tmp_path / "plain"
    (app / "shop").mkdir(parents=True)
    (app / "shop" / "tasks.py").write_text(TASKS)
    settings = make_settings(root_dir=app, app_module="shop")
    record = await delivered(settings, service.queues.redis)
    assert record.review is not None and record.review.branch is None
    assert record.review.no_branch == "APP_ROOT_DIR is not in a git repository"
    # The patch applies to a copy of the tree put in git.
    copy = tmp_path / "copy"
    shutil.copytree(app, copy)
    make_repo(copy, {})
    (tmp_path / "fix.patch").write_text(await service.queues.redis.get(keys.fix_patch(record.id)))
    git(copy, "am", str(tmp_path / "fix.patch"))
    assert (copy / "shop" / "tasks.py").read_text() == FIXED


async def test_paths_from_the_model_are_checked_again(repo: Path, app_settings: Callable[..., Settings],
                                                      service: Any, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "service" / "linked").symlink_to(outside)
    for path in ("../NOTES.md", "linked/x.py", ".git/config.py", "shop/run.sh"):
        record = await delivered(app_settings(), service.queues.redis, {path: "x = 1\n"})
        assert record.review is not None and record.review.branch is None and not record.review.files
        assert record.review.no_branch.startswith("not delivered:"), record.review.no_branch
    assert not any(outside.iterdir())
    assert git(repo, "branch", "--list", "smartworker/*") == ""


async def test_review_steps_and_apply(repo: Path, app_settings: Callable[..., Settings], service: Any) -> None:
    settings = app_settings(fix_apply=True)
    redis = service.queues.redis
    record = await delivered(settings, redis)
    steps = FixReview(settings, service.queues)
    with pytest.raises(ReviewStepError, match="cannot become applied"):
        await steps.apply(record.id, "ada")
    approved = await steps.approve(record.id, "ada")
    assert approved.review is not None and approved.review.state is ReviewState.APPROVED
    assert [(s.state.value, s.by) for s in approved.review.steps] == [("proposed", "smartworker"),
                                                                       ("approved", "ada")]
    with pytest.raises(ReviewStepError, match="approved: it cannot become rejected"):
        await steps.reject(record.id, "bob", "too late")
    with pytest.raises(ApplyDisabledError):
        await FixReview(app_settings(), service.queues).apply(record.id, "ada")

    tasks = repo / "service" / "shop" / "tasks.py"
    # Uncommitted edits of a touched file: refused, nothing written.
    tasks.write_text(TASKS + "# editing\n")
    with pytest.raises(ApplyRefusedError, match=r"^apply refused: shop/tasks.py has uncommitted changes"):
        await steps.apply(record.id, "ada")
    assert tasks.read_text() == TASKS + "# editing\n"
    # A change committed after the fix was made: refused.
    git(repo, "commit", "-q", "-m", "the user's edit", "--", "service/shop/tasks.py")
    with pytest.raises(ApplyRefusedError, match=r"^apply refused: shop/tasks.py changed since the fix was made$"):
        await steps.apply(record.id, "ada")
    tasks.write_text(TASKS)  # the user takes it back: the file is again what the fix was made against
    git(repo, "commit", "-q", "-m", "undo the edit", "--", "service/shop/tasks.py")

    before = UserState.of(repo)
    tasks.write_text(TASKS + "# again\n")
    with pytest.raises(ApplyRefusedError, match="uncommitted"):
        await steps.apply(record.id, "ada")
    tasks.write_text(TASKS)
    # Same content, new stat: a plain `git status` would rewrite the index here.
    os.utime(tasks, (time.time() + 5, time.time() + 5))
    applied = await steps.apply(record.id, "ada")
    assert applied.review is not None and applied.review.state is ReviewState.APPLIED
    assert tasks.read_text() == FIXED
    # Only the working tree changed (the index file is byte for byte the same): the user reviews and
    # commits the change.
    after = UserState.of(repo)
    assert (after.index, after.head, after.branch) == (before.index, before.head, before.branch)
    assert git(repo, "--no-optional-locks", "status", "--porcelain", "--", "service/shop/tasks.py") == (
        "M service/shop/tasks.py")
    assert int(await redis.get(keys.code_generation(service.queues.names.main))) == 1
    assert applied.review.heal is not None and applied.review.heal.state == "waiting"
    deployed = await steps.deployed(record.id, "ada")
    assert deployed.review is not None and deployed.review.state is ReviewState.DEPLOYED
    with pytest.raises(ReviewStepError, match="next steps: none"):
        await steps.deployed(record.id, "ada")
    assert not (repo / HOOK_MARKS).exists()


async def test_apply_accepts_files_that_already_hold_the_fix(repo: Path, app_settings: Callable[..., Settings],
                                                              service: Any, tmp_path: Path) -> None:
    # The person applied the emailed patch with git am before the apply step: nothing to write.
    settings = app_settings(fix_apply=True)
    record = await delivered(settings, service.queues.redis)
    (tmp_path / "fix.patch").write_text(await service.queues.redis.get(keys.fix_patch(record.id)))
    git(repo, "stash", "-q")
    git(repo, "am", "-q", str(tmp_path / "fix.patch"))
    git(repo, "stash", "pop", "-q")
    steps = FixReview(settings, service.queues)
    await steps.approve(record.id, "ada")
    applied = await steps.apply(record.id, "ada")
    assert applied.review is not None and applied.review.state is ReviewState.APPLIED
    assert (repo / "service" / "shop" / "tasks.py").read_text() == FIXED
    assert git(repo, "--no-optional-locks", "status", "--porcelain", "--", "service") == ""


async def test_reject_needs_a_reason_and_a_proposed_fix(repo: Path, app_settings: Callable[..., Settings],
                                                         service: Any) -> None:
    record = await delivered(app_settings(), service.queues.redis)
    steps = FixReview(app_settings(), service.queues)
    with pytest.raises(ReviewStepError, match="reason"):
        await steps.reject(record.id, "ada", "  ")
    rejected = await steps.reject(record.id, "ada", "do not guess names")
    assert rejected.review is not None and rejected.review.steps[-1].note == "do not guess names"
    with pytest.raises(ReviewStepError, match="rejected: it cannot become approved"):
        await steps.approve(record.id, "ada")


@pytest.fixture
def bare_remote(repo: Path, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "--no-verify", "origin", "main")
    return remote


@pytest.fixture
def host() -> Iterator[CodeHost]:
    with code_host.running() as state:
        yield state


async def test_approval_opens_a_github_pull_request(repo: Path, app_settings: Callable[..., Settings], service: Any,
                                                    bare_remote: Path, host: CodeHost) -> None:
    settings = app_settings(fix_pr_provider="github", fix_pr_token="ghp_test", fix_pr_repository="acme/shop",
                            fix_pr_api_url=host.url)
    record = await delivered(settings, service.queues.redis)
    assert record.review is not None
    host.fail_next = 422
    first = await FixReview(settings, service.queues).approve(record.id, "ada")
    assert first.review is not None and first.review.state is ReviewState.APPROVED
    assert first.review.pr_url is None and "GitHub answered 422" in (first.review.pr_error or "")
    # Approving again retries the pull request only.
    approved = await FixReview(settings, service.queues).approve(record.id, "ada")
    assert approved.review is not None and approved.review.pr_url == "https://github.test/acme/shop/pull/2"
    assert approved.review.pr_error is None and len(approved.review.steps) == 2
    # The branch was pushed to the remote, with the fix commit.
    assert git(bare_remote, "rev-parse", f"refs/heads/{record.review.branch}") == record.review.commit
    calls = [(r["method"], r["path"]) for r in host.requests]
    assert calls == [("GET", "/repos/acme/shop"), ("POST", "/repos/acme/shop/pulls")] * 2
    sent = host.opened()[-1]
    assert sent["headers"]["authorization"] == "Bearer ghp_test"
    assert sent["headers"]["x-github-api-version"] == "2022-11-28"
    assert sent["headers"]["accept"] == "application/vnd.github+json"
    assert sent["json"]["head"] == record.review.branch and sent["json"]["base"] == "main"
    assert SIGNATURE in sent["json"]["title"] or "greet" in sent["json"]["title"]
    assert SUMMARY in sent["json"]["body"] and "Verdict: candidate 1" in sent["json"]["body"]
    assert not (repo / HOOK_MARKS).exists()


async def test_approval_opens_a_gitlab_merge_request(repo: Path, app_settings: Callable[..., Settings],
                                                     service: Any, bare_remote: Path, host: CodeHost) -> None:
    settings = app_settings(fix_pr_provider="gitlab", fix_pr_token="glpat-test", fix_pr_repository="acme/shop",
                            fix_pr_api_url=host.url + "/api/v4", fix_pr_base="release")
    record = await delivered(settings, service.queues.redis)
    approved = await FixReview(settings, service.queues).approve(record.id, "ada")
    assert approved.review is not None
    assert approved.review.pr_url == "https://gitlab.test/acme/shop/-/merge_requests/1"
    # FIX_PR_BASE names the target: no call for the default branch.
    assert [(r["method"], r["path"]) for r in host.requests] == [
        ("POST", "/api/v4/projects/acme%2Fshop/merge_requests")]
    sent = host.requests[0]
    assert sent["headers"]["private-token"] == "glpat-test"
    assert sent["json"]["source_branch"] == approved.review.branch and sent["json"]["target_branch"] == "release"
    assert SUMMARY in sent["json"]["description"]
    assert git(bare_remote, "rev-parse", f"refs/heads/{approved.review.branch}") == approved.review.commit


async def test_a_push_that_fails_is_recorded(repo: Path, app_settings: Callable[..., Settings], service: Any,
                                             host: CodeHost, tmp_path: Path) -> None:
    settings = app_settings(fix_pr_provider="github", fix_pr_token="t", fix_pr_repository="acme/shop",
                            fix_pr_api_url=host.url, fix_pr_remote=str(tmp_path / "no-such-remote"))
    record = await delivered(settings, service.queues.redis)
    approved = await FixReview(settings, service.queues).approve(record.id, "ada")
    assert approved.review is not None and approved.review.state is ReviewState.APPROVED
    assert (approved.review.pr_error or "").startswith("git push failed")
    assert host.requests == []


def test_git_is_never_given_a_shell(repo: Path) -> None:
    # A file name a model could invent, with shell syntax in it, is one argument to git.
    name = "$(touch pwned);`touch pwned2`.py"
    found, _ = Repository.of(repo / "service")
    assert found is not None and found.prefix == "service/"
    assert found.dirty([name]) == []
    assert not (repo / "pwned").exists() and not (repo / "service" / "pwned").exists()


async def test_review_routes_need_roles_and_record_the_key_name(
        repo: Path, app_settings: Callable[..., Settings], service: Any) -> None:
    service.settings = app_settings(fix_apply=True)
    record = await delivered(service.settings, service.queues.redis)
    store = ApiKeys(service.queues.redis, keys.access_prefix(service.queues.names.main))
    secrets = {role: (await store.create(role, f"{role.value}-key"))[1] for role in Role}
    transport = httpx.ASGITransport(app=create_app(service))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            def as_role(role: Role) -> dict[str, str]:
                return {"Authorization": f"Bearer {secrets[role]}"}

            url = f"/fixes/{record.id}"
            assert (await http.post(url + "/approve", headers=as_role(Role.VIEWER))).status_code == 403
            approved = await http.post(url + "/approve", headers=as_role(Role.OPERATOR))
            assert approved.status_code == 200
            assert approved.json()["review"]["steps"][-1]["by"] == "operator-key"
            # Commit ids and content hashes are SmartWorker's own metadata: shown as they are.
            shown = (await http.get(url, headers=as_role(Role.VIEWER))).json()["review"]
            assert shown["commit"] == record.review.commit and shown["files"][0]["new"] == record.review.files[0].new
            denied = await http.post(url + "/apply", headers=as_role(Role.OPERATOR))
            assert denied.status_code == 403 and "admin" in denied.json()["detail"]
            (repo / "service" / "shop" / "tasks.py").write_text(TASKS + "# mine\n")
            refused = await http.post(url + "/apply", headers=as_role(Role.ADMIN))
            assert refused.status_code == 409
            assert refused.json() == {"detail": "apply refused: shop/tasks.py has uncommitted changes; "
                                                "commit or stash them first"}
            (repo / "service" / "shop" / "tasks.py").write_text(TASKS)
            applied = await http.post(url + "/apply", headers=as_role(Role.ADMIN))
            assert applied.status_code == 200 and applied.json()["review"]["steps"][-1]["by"] == "admin-key"
            rejected = await http.post(url + "/reject", json={"reason": ""}, headers=as_role(Role.OPERATOR))
            assert rejected.status_code == 422 and rejected.json()["detail"].startswith("body.reason")
            again = await http.post(url + "/approve", headers=as_role(Role.OPERATOR))
            assert again.status_code == 409 and again.json()["detail"].startswith(f"fix {record.id} is applied")
            assert (await http.post("/fixes/nope/deployed", headers=as_role(Role.OPERATOR))).status_code == 404
    finally:
        await service.queues.redis.delete(f"{keys.access_prefix(service.queues.names.main)}:apikeys")
