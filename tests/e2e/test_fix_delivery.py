"""From a verified fix to healed jobs, as a user runs it: ``smartworker up`` on a git repository with
uncommitted work of its own, a scripted OpenAI-compatible server, a real SMTP server, and the review
steps through the CLI and the HTTP API."""

from __future__ import annotations

import shutil
import signal
import subprocess
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import require
from tests.e2e.conftest import clean_env, finish, free_port, smartworker, wait_http
from tests.fakes import smtp_server
from tests.fakes.openai_server import ScriptedLLM, reply_files
from tests.gitrepo import HOOK_MARKS, UserState, add_own_work, git, make_repo
from tests.shop import FIXED, SUMMARY, TASKS
from tests.waiting import poll

DEAD = 20
#: A fix that passes the sandbox and that a reviewer refuses: it greets everyone as "Friend".
GUESSED = TASKS.replace('name = data.get("name")', 'name = data.get("name") or "friend"')
REASON = "Never greet with a made-up name: read the full_name that producers send now."


def _settled_fix(base: str, count: int) -> list[dict[str, Any]] | None:
    page = httpx.get(base + "/fixes").json()
    done = page["total"] == count and all(f["status"] != "running" for f in page["fixes"])
    return page["fixes"] if done else None


def _text(mail: Message) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    return ""


def _attachment(mail: Message, name: str) -> bytes:
    for part in mail.walk():
        if part.get_filename() == name:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(f"no attachment {name}")


def test_a_verified_fix_is_reviewed_applied_and_heals_its_dead_jobs(
        tmp_path: Path, llm: ScriptedLLM, inbox: tuple[smtp_server.Inbox, int],
        stop_all: list[subprocess.Popen[str]]) -> None:
    require(shutil.which("git") is not None, "git is not installed")
    require(shutil.which("bwrap") is not None, "bwrap is not installed (apt-get install bubblewrap)")
    box, smtp_port = inbox
    repo = make_repo(tmp_path / "repo", {"shop/__init__.py": "from . import tasks  # noqa: F401\n",
                                         "shop/tasks.py": TASKS, ".gitignore": "__pycache__/\n",
                                         "NOTES.md": "notes\n"})
    add_own_work(repo)
    user_before = UserState.of(repo)
    port = free_port()
    env = clean_env(APP_PORT=str(port), APP_DATA_DIR=str(tmp_path / "data"), APP_ROOT_DIR=str(repo),
                    SMARTWORKER_APP="shop",
                    AI_SERVICE_URL=llm.url, APP_SMTP_HOST="127.0.0.1", APP_SMTP_PORT=str(smtp_port),
                    JOB_BACKOFF_MS="10", SANDBOX_TIMEOUT="10", FIX_APPLY="true", USER="ada")
    proc = smartworker("up", env=env, cwd=tmp_path)
    stop_all.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", proc, timeout=60)
    poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json()["database"] == "up", 120)

    # A job that succeeds (a reference for the regression replay), then DEAD that fail one way.
    first = httpx.post(base + "/job", json={"name": "greet", "data": {"name": "ada"}}).json()["id"]
    poll(lambda: httpx.get(f"{base}/jobs/{first}").json()["state"] == "completed")
    for i in range(DEAD):
        httpx.post(base + "/job", json={"name": "greet", "data": {"full_name": f"customer {i}"},
                                        "opts": {"attempts": 1}}).raise_for_status()
    dead = poll(lambda: (d := httpx.get(base + "/dlq", params={"size": 50}).json())["total"] == DEAD and d, 120)
    dlq_ids = [j["id"] for j in dead["jobs"]]

    # 1. A fix the reviewer rejects; the reason reaches the next prompt for that failure.
    llm.script(reply_files(("shop/tasks.py", GUESSED)), "YES", "Greets a customer without a name as Friend.")
    httpx.post(f"{base}/dlq/{dlq_ids[0]}/fix").raise_for_status()
    guessed = poll(lambda: _settled_fix(base, 1), 120)[0]
    assert guessed["status"] == "fixed" and guessed["review"]["state"] == "proposed", guessed
    assert httpx.post(f"{base}/fixes/{guessed['id']}/reject", json={"reason": " "}).status_code == 422
    rejected = httpx.post(f"{base}/fixes/{guessed['id']}/reject", json={"reason": REASON}).json()["review"]
    assert rejected["state"] == "rejected" and rejected["steps"][-1] == {
        "state": "rejected", "by": "api", "at": rejected["steps"][-1]["at"], "note": REASON}

    llm.script(reply_files(("shop/tasks.py", FIXED)), "YES", SUMMARY)
    httpx.post(f"{base}/dlq/{dlq_ids[1]}/fix").raise_for_status()
    fixes = poll(lambda: _settled_fix(base, 2), 120)
    fix = next(f for f in fixes if f["id"] != guessed["id"])
    assert fix["status"] == "fixed", fix
    prompt = llm.requests[0]["messages"][1]["content"]
    assert "do not propose them again" in prompt and REASON in prompt and '"friend"' in prompt

    # 2. The branch: one commit on the user's HEAD; the user's work, index and branch untouched.
    review = fix["review"]
    assert review["branch"] == f"smartworker/fix/{fix['id']}" and review["state"] == "proposed"
    assert git(repo, "rev-list", "--parents", "-n1", review["branch"]).split() == [review["commit"],
                                                                                     user_before.head]
    assert git(repo, "show", f"{review['branch']}:shop/tasks.py") + "\n" == FIXED
    assert UserState.of(repo) == user_before and not (repo / HOOK_MARKS).exists()

    # 3. The email names the branch and carries a patch that git am applies on a clean clone.
    mail = poll(lambda: next((m for m in box.messages if f"Fix record: {fix['id']}" in _text(m)), None), 30)
    assert mail["Subject"].startswith("[SmartWorker] FIXED: greet job")
    assert f"Branch: {review['branch']}" in _text(mail)
    patch = tmp_path / "fix.patch"
    patch.write_bytes(_attachment(mail, f"fix-{fix['id']}.patch"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "am", str(patch))
    assert (clone / "shop" / "tasks.py").read_text() == FIXED

    # 4. Approve (CLI), then apply (API): refused while the file has changes of the user's, then applied.
    out = finish(smartworker("fix", "approve", fix["id"], env=env, cwd=tmp_path), 120)
    assert f"fix {fix['id']}: approved by ada" in out.splitlines()
    approved = httpx.get(f"{base}/fixes/{fix['id']}").json()["review"]
    assert [(s["state"], s["by"]) for s in approved["steps"]] == [("proposed", "smartworker"), ("approved", "ada")]
    tasks = repo / "shop" / "tasks.py"
    tasks.write_text(TASKS + "# the user's edit\n")
    refused = httpx.post(f"{base}/fixes/{fix['id']}/apply")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "apply refused: shop/tasks.py has uncommitted changes; commit or stash them first")
    tasks.write_text(TASKS)
    applied = httpx.post(f"{base}/fixes/{fix['id']}/apply")
    assert applied.status_code == 200, applied.text
    assert applied.json()["review"]["state"] == "applied" and tasks.read_text() == FIXED
    after = UserState.of(repo)
    assert (after.index, after.head, after.branch) == (user_before.index, user_before.head, user_before.branch)

    # 5. Heal: the dead jobs are retried against the fixed code, all of them complete.
    heal = poll(lambda: (h := httpx.get(f"{base}/fixes/{fix['id']}").json()["review"]["heal"])
                and h["state"] in ("done", "stopped") and h, 120)
    assert (heal["state"], heal["healed"], heal["total"], heal["failed"]) == ("done", DEAD, DEAD, 0), heal
    assert heal["note"] == f"healed {DEAD} of {DEAD}"
    assert httpx.get(base + "/dlq").json()["total"] == 0
    later = httpx.post(base + "/job", json={"name": "greet", "data": {"full_name": "grace hopper"}}).json()["id"]
    done = poll(lambda: (j := httpx.get(f"{base}/jobs/{later}").json())["state"] == "completed" and j, 30)
    assert done["result"] == {"greeting": "Hello, Grace Hopper!"}
    # Marked deployed: nothing is retried twice.
    deployed = httpx.post(f"{base}/fixes/{fix['id']}/deployed").json()["review"]
    assert deployed["state"] == "deployed" and deployed["heal"]["total"] == DEAD

    # Bad input and steps out of order: one clear line, nothing changed.
    assert httpx.post(f"{base}/fixes/{fix['id']}/reject", json={}).status_code == 422
    assert httpx.post(f"{base}/fixes/nope/approve").status_code == 404
    again = httpx.post(f"{base}/fixes/{fix['id']}/apply")
    assert again.status_code == 409 and again.json()["detail"].startswith(f"fix {fix['id']} is deployed")
    missing = smartworker("fix", "reject", fix["id"], env=env, cwd=tmp_path)
    out, _ = missing.communicate(timeout=60)
    assert missing.returncode == 2
    assert out.strip() == "smartworker: fix reject: --reason is required (the model is shown it next time)"

    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]
    assert not (repo / HOOK_MARKS).exists()
