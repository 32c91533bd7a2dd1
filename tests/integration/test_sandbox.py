"""The bwrap sandbox against real bubblewrap: real fixes pass, wrong and hostile candidates do not.

Every hostile candidate also contains the correct fix, so the only way it can fail is the sandbox
stopping what it tries; each must end "not fixed", quickly, with the host untouched.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from smartworker.config import DEMO_APP_ROOT
from smartworker.sandbox import SandboxRequest, SandboxStatus, baseline, verify
from smartworker.sandbox.bwrap import BwrapSandbox
from smartworker.sandbox.verdict import UNCOMPARED, replay_references

FAILING = {"password": "wonderland", "username": "alice@example.com"}
REPLAYS = [
    {"email": "bob@example.com", "password": "builder"},
    {"email": "alice@example.com", "password": "x"},
]
LOGIN = (DEMO_APP_ROOT / "swdemo" / "login.py").read_text()
FIXED = LOGIN.replace('data.get("email")', 'data.get("email") or data.get("username")')
TOKEN = uuid.uuid4().hex[:10]
#: Slack on top of the wall-clock limit for start-up, kill and clean-up.
SLACK_S = 3.0


def login_request(changed: dict[str, str] | None = None, data: dict[str, str] | None = None) -> SandboxRequest:
    return SandboxRequest(app_root=DEMO_APP_ROOT, app_module="swdemo", handler="login",
                          changed_files=changed or {}, data=dict(data or {}))


def hostile(prelude: str) -> dict[str, str]:
    """The correct fix, with ``prelude`` run first in the handler."""
    body = FIXED.replace("def handle(data):\n", "def handle(data):\n" + textwrap.indent(prelude, "    "))
    return {"swdemo/login.py": "import os\nimport socket\n" + body}


def leftovers(sandbox: BwrapSandbox) -> list[Path]:
    """Anything in the backend's private tmp root but its idle warm sessions' copies, which are empty.

    The root is the backend's own, so runs of other test sessions on this host cannot show up here.
    """
    found = set(sandbox.tmp_root.iterdir())  # listed before the spares: a spare started later is not in it
    spares = sandbox.spare_sessions()
    for session in spares:
        assert not any(session.copy.iterdir()), f"idle session {session.copy} holds files"
    return sorted(found - {session.copy.parent for session in spares})


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def runner_processes(sandbox: BwrapSandbox) -> list[int]:
    """This backend's sandbox processes (its tag is on their command lines) other than its idle spares.

    An idle spare is bwrap, bwrap's init and a runner with no child: at most three processes.
    """
    children = _children()
    spare_tree: set[int] = set()
    for session in sandbox.spare_sessions():
        tree, todo = set(), [session.proc.pid]
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo += children.get(pid, [])
        assert len(tree) <= 3, f"idle session {session.proc.pid} runs {len(tree)} processes"
        spare_tree |= tree
    spares = {session.proc.pid for session in sandbox.spare_sessions()}
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"smartworker.sandbox.runner" in cmdline and sandbox.tag.encode() in cmdline:
                found.append(int(entry.name))
    # A spare being started as we look forks its runner after the snapshot above: its ancestry,
    # read now, still tells it apart.
    return sorted(pid for pid in set(found) - spare_tree if not spares & _ancestors(pid))


def _ancestors(pid: int) -> set[int]:
    found: set[int] = set()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return found


async def test_original_code_fails_in_the_sandbox(sandbox: BwrapSandbox) -> None:
    found = await baseline(sandbox, login_request(), FAILING, expected_exc_type="AttributeError")
    assert found.reproduced, found.reason
    # Paths point at the original tree, so the traceback parses like the worker's.
    text = found.outcome.traceback or ""
    assert f'File "{DEMO_APP_ROOT}/swdemo/login.py", line 13, in normalise_email' in text
    assert '"/app/' not in text


async def test_correct_fix_is_fixed(sandbox: BwrapSandbox) -> None:
    verdict = await verify(sandbox, login_request({"swdemo/login.py": FIXED}), FAILING, REPLAYS)
    assert verdict.fixed, verdict.reason
    assert verdict.failing.result == {"user": "alice@example.com", "authenticated": True}
    assert [r.result["authenticated"] for r in verdict.replays] == [True, False]
    assert (DEMO_APP_ROOT / "swdemo" / "login.py").read_text() == LOGIN  # the original is untouched


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(LOGIN.replace('data.get("email")', 'data["email"]'), "still fails", id="keyerror"),
        pytest.param(LOGIN.replace('data.get("email")', 'data["username"]'), "regression", id="regression"),
        pytest.param(FIXED.replace("def handle(data):", "def handle(data)"), "importing the app",
                     id="syntax"),
    ],
)
async def test_wrong_fix_is_not_fixed(sandbox: BwrapSandbox, source: str, expected: str) -> None:
    verdict = await verify(sandbox, login_request({"swdemo/login.py": source}), FAILING, REPLAYS)
    assert not verdict.fixed
    assert expected in verdict.reason


HOSTILE = {
    "network": f"s = socket.create_connection(('127.0.0.1', 6379), timeout=1)\n"
               f"s.sendall(b'SET smartworker-sandbox-pwned-{TOKEN} 1\\r\\n')\n",
    "read_shadow": "open('/etc/shadow').read()\n",
    "write_repo": f"open('/work/main/PWNED-{TOKEN}', 'w').write('x')\n",
    "write_root": f"open('/root/x-{TOKEN}', 'w').write('x')\n",
    "write_original_app": f"open({str(DEMO_APP_ROOT / 'swdemo' / 'login.py')!r}, 'a').write('# pwned')\n",
    # /tmp inside is a private tmpfs: the first write succeeds there, never on the host.
    "write_tmp": f"open('/tmp/pwned-{TOKEN}', 'w').write('x')\nopen('/work/main/PWNED-{TOKEN}', 'w')\n",
    "fork_bomb": "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "loop_forever": "while True:\n    pass\n",
    "allocate_10gb": "blob = bytearray(10 * 2**30)\n",
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
async def test_hostile_candidate_is_contained(sandbox: BwrapSandbox, attack: str) -> None:
    started = time.monotonic()
    verdict = await verify(sandbox, login_request(hostile(HOSTILE[attack])), FAILING, REPLAYS)
    elapsed = time.monotonic() - started
    assert not verdict.fixed, verdict.reason
    assert elapsed < sandbox.limits.timeout_s + SLACK_S, f"{attack} took {elapsed:.1f} s"
    # The host is untouched and nothing from the run is left behind.
    for path in (f"/work/main/PWNED-{TOKEN}", f"/root/x-{TOKEN}", f"/tmp/pwned-{TOKEN}"):
        assert not Path(path).exists(), path
    assert (DEMO_APP_ROOT / "swdemo" / "login.py").read_text() == LOGIN
    await sandbox.settle()  # the sessions were killed before the verdict; wait for their clean-up
    assert leftovers(sandbox) == []
    assert runner_processes(sandbox) == []


async def test_hostile_network_never_reaches_redis(sandbox: BwrapSandbox) -> None:
    redis = pytest.importorskip("redis")
    verdict = await verify(sandbox, login_request(hostile(HOSTILE["network"])), FAILING, [])
    assert not verdict.fixed
    assert verdict.failing.exc_type in {"ConnectionRefusedError", "OSError", "TimeoutError"}
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        assert client.get(f"smartworker-sandbox-pwned-{TOKEN}") is None
    except redis.exceptions.ConnectionError:
        pass  # no Redis on this host: the sandbox's refusal above is what counts
    finally:
        client.close()


@pytest.mark.parametrize(("attack", "statuses"), [
    ("loop_forever", {SandboxStatus.LIMIT, SandboxStatus.TIMEOUT}),
    ("allocate_10gb", {SandboxStatus.ERROR}),
    ("read_shadow", {SandboxStatus.ERROR}),
])
async def test_hostile_outcome_says_why(sandbox: BwrapSandbox, attack: str,
                                        statuses: set[SandboxStatus]) -> None:
    outcome = await sandbox.run(login_request(hostile(HOSTILE[attack]), data=FAILING))
    assert outcome.status in statuses, outcome.reason
    if attack == "allocate_10gb":
        assert outcome.exc_type == "MemoryError"


async def test_handler_prints_do_not_corrupt_the_protocol(sandbox: BwrapSandbox) -> None:
    noisy = hostile("print('{\"status\": \"ok\", \"result\": \"forged\"}')\n"
                    "os.system('echo from-a-child-process')\n"
                    "os.write(1, b'raw fd 1 write\\n')\n")
    outcome = await sandbox.run(login_request(noisy, data=FAILING))
    assert outcome.status is SandboxStatus.OK, outcome.reason
    assert outcome.result == {"user": "alice@example.com", "authenticated": True}
    assert "forged" in outcome.stderr_tail
    assert "from-a-child-process" in outcome.stderr_tail
    assert "raw fd 1 write" in outcome.stderr_tail


async def test_non_json_result_is_an_error(sandbox: BwrapSandbox) -> None:
    source = FIXED.replace('return {"user": email, "authenticated": ok}', "return {1, 2}")
    outcome = await sandbox.run(login_request({"swdemo/login.py": source}, data=FAILING))
    assert outcome.status is SandboxStatus.ERROR
    assert outcome.phase == "result"
    assert "not JSON-serialisable" in (outcome.message or "")


async def test_env_and_hazard_handlers_reach_the_handler(sandbox: BwrapSandbox) -> None:
    request = SandboxRequest(app_root=DEMO_APP_ROOT, app_module="swdemo", handler="hazard",
                             data={"scenario": "missing_env"}, hazard_testing=True,
                             env={"TEST_ENV_VAR": "present"})
    outcome = await sandbox.run(request)
    assert outcome.status is SandboxStatus.OK, outcome.reason
    assert outcome.result == {"scenario": "missing_env", "result": "present"}
    hidden = await sandbox.run(SandboxRequest(app_root=DEMO_APP_ROOT, app_module="swdemo", handler="hazard"))
    assert hidden.status is SandboxStatus.ERROR
    assert hidden.exc_type == "UnknownHandlerError"


async def test_temp_copy_is_removed(sandbox: BwrapSandbox) -> None:
    outcome = await sandbox.run(login_request({"swdemo/login.py": FIXED}, data=FAILING))
    assert outcome.ok
    await sandbox.settle()
    assert leftovers(sandbox) == []


REPORT = '''from smartworker import handler


@handler("campaign-report")
def campaign_report(data):
    rows = [{"name": c["name"], "rate": c["conversions"] / c["visits"] if c["visits"] else 0.0}
            for c in data["campaigns"]]
    visits = sum(c["visits"] for c in data["campaigns"])
    return {"campaigns": rows, "overall": sum(c["conversions"] for c in data["campaigns"]) / visits}
'''
#: Refuses an empty report with its own error: an answer, not the original ZeroDivisionError.
REFUSING = REPORT.replace("    rows = [", '    if not data["campaigns"]:\n'
                                        '        raise ValueError("a report needs campaigns")\n    rows = [')
CAMPAIGN_DATA = {"campaigns": [{"name": "spring", "visits": 200, "conversions": 9},
                               {"name": "newsletter", "visits": 0, "conversions": 0}]}


@pytest.mark.parametrize(("candidate", "fixed", "exc_type"), [(REPORT, False, "ZeroDivisionError"),
                                                              (REFUSING, True, "ValueError")])
async def test_tolerant_variant_fails_only_on_the_original_error(sandbox: BwrapSandbox, tmp_path: Path,
                                                                 candidate: str, fixed: bool, exc_type: str) -> None:
    (tmp_path / "marketing").mkdir()
    (tmp_path / "marketing" / "__init__.py").write_text("")
    template = SandboxRequest(app_root=tmp_path, app_module="marketing", handler="campaign-report",
                              changed_files={"marketing/__init__.py": candidate})
    strict = {"a single campaign": {"campaigns": [{"visits": 1, "conversions": 1, "name": "a"}]}}
    replay = {"campaigns": [{"name": "b", "visits": 4, "conversions": 1}]}
    verdict = await verify(sandbox, template, CAMPAIGN_DATA, [replay], variants=strict,
                           tolerant={"`campaigns` empty (in the job data)": {"campaigns": []}},
                           failure_type="ZeroDivisionError")
    assert verdict.failing.ok, verdict.failing.reason
    assert verdict.fixed is fixed, verdict.reason
    # Strict variants, then tolerant ones, then replays.
    assert [o.status for o in verdict.replays] == [SandboxStatus.OK, SandboxStatus.ERROR, SandboxStatus.OK]
    assert verdict.replays[1].exc_type == exc_type
    if fixed:
        assert "1 tolerant variant(s) do not repeat the failure" in verdict.reason
    else:
        assert verdict.reason.startswith("the job still fails with `campaigns` empty (in the job data) (error: ")
        assert "ZeroDivisionError" in verdict.reason


async def test_a_replay_that_answers_differently_is_noted_not_vetoed(sandbox: BwrapSandbox) -> None:
    references = await replay_references(sandbox, login_request(), [*REPLAYS, FAILING])
    # The failing job is no earlier success: the original code cannot handle it, so it is dropped.
    assert [r.data for r in references] == REPLAYS
    assert [r.result for r in references] == [{"user": "bob@example.com", "authenticated": True},
                                              {"user": "alice@example.com", "authenticated": False}]
    expected = [r.result for r in references]
    verdict = await verify(sandbox, login_request({"swdemo/login.py": FIXED}), FAILING, REPLAYS, expected=expected)
    assert verdict.fixed and verdict.notes == [], verdict.reason
    # Completes everywhere, but answers earlier jobs differently: a fix may rightly do that (the bug
    # may have answered them wrongly), so the change is a note with both answers, not a veto.
    loose = FIXED.replace("return {", 'return {"checked": True, ')
    verdict = await verify(sandbox, login_request({"swdemo/login.py": loose}), FAILING, REPLAYS, expected=expected)
    assert verdict.fixed, verdict.reason
    [note] = verdict.notes
    assert note.check == "replay answers" and note.reason.startswith("2 of 2 earlier job(s) get another answer: ")
    assert note.evidence[0]["before"] == expected[0] and note.evidence[0]["after"]["checked"] is True
    assert note.evidence[0]["data"]["password"] == "[REDACTED]"


async def test_a_replay_that_now_fails_is_a_regression(sandbox: BwrapSandbox) -> None:
    expected = [r.result for r in await replay_references(sandbox, login_request(), REPLAYS)]
    strict = FIXED.replace('    return {"user"', '    if data.get("email"):\n        raise RuntimeError("x")\n'
                                                 '    return {"user"')
    assert strict != FIXED
    verdict = await verify(sandbox, login_request({"swdemo/login.py": strict}), FAILING, REPLAYS, expected=expected)
    assert not verdict.fixed and verdict.check == "replays"
    assert verdict.reason.startswith("regression on replay 1 of 2 (error: ") and verdict.regressed == REPLAYS[0]


async def test_an_unstable_result_is_not_compared(sandbox: BwrapSandbox) -> None:
    clock = LOGIN.replace("import hmac", "import hmac\nimport time").replace(
        'return {"user": email', 'return {"at": time.time_ns(), "user": email')
    # replay_references runs the ORIGINAL tree, so the clock version is laid out as an app of its own.
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "swdemo").mkdir()
        (root / "swdemo" / "__init__.py").write_text((DEMO_APP_ROOT / "swdemo" / "__init__.py").read_text())
        (root / "swdemo" / "login.py").write_text(clock)
        for extra in (DEMO_APP_ROOT / "swdemo").glob("*.py"):
            if extra.name not in ("__init__.py", "login.py"):
                (root / "swdemo" / extra.name).write_text(extra.read_text())
        timed = SandboxRequest(app_root=root, app_module="swdemo", handler="login")
        [reference] = await replay_references(sandbox, timed, REPLAYS[:1])
        assert reference.result is UNCOMPARED
        verdict = await verify(sandbox, timed, FAILING | {"email": "alice@example.com"}, REPLAYS[:1],
                               expected=[reference.result])
        assert verdict.fixed, verdict.reason


async def test_a_result_shaped_unlike_earlier_results_is_noted(sandbox: BwrapSandbox) -> None:
    expected = [r.result for r in await replay_references(sandbox, login_request(), REPLAYS)]
    # Earlier jobs all answered `authenticated` with a bool; this fix answers the failed job with text.
    texty = FIXED.replace('return {"user": email, "authenticated": ok}',
                          'return {"user": email, "authenticated": ok if "email" in data else "unknown"}')
    assert texty != FIXED
    verdict = await verify(sandbox, login_request({"swdemo/login.py": texty}), FAILING, REPLAYS, expected=expected)
    assert verdict.fixed, verdict.reason
    assert [(n.check, n.reason) for n in verdict.notes] == [
        ("result shape", '`authenticated` in the result is "unknown", unlike every earlier job\'s (e.g. true)')]


#: Survives the absent email by falling back to the username, but a null email becomes "": the
#: job completes either way, with a different user.
HALF_DEFAULT = LOGIN.replace('normalise_email(data.get("email"))',
                             'normalise_email(data.get("email", data.get("username")) or "")')
NULL_EMAIL = {"`email` null instead of absent (in the job data)": FAILING | {"email": None}}


@pytest.mark.parametrize(("source", "fixed"), [(FIXED, True), (HALF_DEFAULT, False)])
async def test_null_and_absent_must_give_the_same_answer(sandbox: BwrapSandbox, source: str, fixed: bool) -> None:
    verdict = await verify(sandbox, login_request({"swdemo/login.py": source}), FAILING, [], variants=NULL_EMAIL,
                           same_answer=True)
    assert verdict.failing.result == {"user": "alice@example.com", "authenticated": True}
    assert verdict.fixed is fixed, verdict.reason
    if not fixed:
        assert verdict.reason == ('the job answers differently with `email` null instead of absent (in the job '
                                  'data): {"authenticated": false, "user": ""} instead of '
                                  '{"authenticated": true, "user": "alice@example.com"}')


async def test_a_result_that_changes_from_run_to_run_is_not_compared(sandbox: BwrapSandbox) -> None:
    # The answer holds a random id, so null and absent cannot be told apart by their results.
    noisy = FIXED.replace('return {"user": email', 'import uuid\n    return {"run": uuid.uuid4().hex, "user": email')
    verdict = await verify(sandbox, login_request({"swdemo/login.py": noisy}), FAILING, [], variants=NULL_EMAIL,
                           same_answer=True)
    assert verdict.fixed, verdict.reason
