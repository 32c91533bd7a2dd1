"""The runner protocol without a sandbox: encoding answers, reading them back, mapping paths."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from smartworker.sandbox import SandboxLimits, SandboxRequest, SandboxStatus
from smartworker.sandbox.process import CHANNEL_CAP, ProcessResult, interpret, map_paths
from smartworker.sandbox.runner import encode

LIMITS = SandboxLimits(timeout_s=3)
ROOT = Path("/srv/app")


def finished(channel: bytes = b"", code: int | None = 0, *, timed_out: bool = False, overflow: bool = False,
             stderr: bytes = b"") -> ProcessResult:
    return ProcessResult(exit_code=code, channel=channel, channel_overflow=overflow, stderr_tail=stderr,
                         timed_out=timed_out, duration_s=0.1)


def read(result: ProcessResult) -> tuple[SandboxStatus, str]:
    outcome = interpret(result, limits=LIMITS, inner_root="/app", app_root=ROOT)
    return outcome.status, outcome.reason


def test_ok_answer_round_trips() -> None:
    line = encode({"status": "ok", "result": {"a": [1, 2.5, None, "é"]}})
    outcome = interpret(finished(line.encode() + b"\n"), limits=LIMITS, inner_root="/app", app_root=ROOT)
    assert outcome.ok
    assert outcome.result == {"a": [1, 2.5, None, "é"]}


def test_unserialisable_result_becomes_a_result_error() -> None:
    answer = json.loads(encode({"status": "ok", "result": {1, 2}}))
    assert answer["status"] == "error"
    assert answer["phase"] == "result"
    assert "not JSON-serialisable" in answer["message"]
    assert json.loads(encode({"status": "ok", "result": float("nan")}))["phase"] == "result"


def test_error_answer_maps_paths_back() -> None:
    answer = {"status": "error", "phase": "handler", "exc_type": "KeyError", "message": "'email'",
              "traceback": 'Traceback (most recent call last):\n  File "/app/pkg/mod.py", line 3, in f\n'}
    outcome = interpret(finished(json.dumps(answer).encode()), limits=LIMITS, inner_root="/app",
                        app_root=ROOT)
    assert outcome.status is SandboxStatus.ERROR
    assert outcome.exc_type == "KeyError"
    assert 'File "/srv/app/pkg/mod.py", line 3' in (outcome.traceback or "")
    assert outcome.reason == "handler raised KeyError: 'email'"


def test_map_paths_leaves_lookalikes_alone() -> None:
    text = 'File "/app/x.py" and "/application/y.py" and /app/z.py and /apps'
    expected = 'File "/srv/app/x.py" and "/application/y.py" and /srv/app/z.py and /apps'
    assert map_paths(text, "/app", ROOT) == expected


def test_abnormal_endings() -> None:
    assert read(finished(timed_out=True, code=-9))[0] is SandboxStatus.TIMEOUT
    cpu = read(finished(code=128 + signal.SIGXCPU))
    assert cpu == (SandboxStatus.LIMIT, "CPU time limit reached (SIGXCPU)")
    assert read(finished(code=128 + signal.SIGXFSZ))[0] is SandboxStatus.LIMIT
    assert read(finished(code=128 + signal.SIGKILL)) == (SandboxStatus.KILLED, "ended by SIGKILL")
    assert read(finished(code=1, stderr=b"boom\nlast words\n")) == (
        SandboxStatus.CRASH, "exit status 1 without an answer: last words")
    assert read(finished(b"x" * 10, overflow=True))[0] is SandboxStatus.CRASH
    assert read(finished(b'{"status": "ok"}\n{"status": "ok"}\n'))[0] is SandboxStatus.CRASH
    assert read(finished(b'["ok"]'))[0] is SandboxStatus.CRASH
    assert CHANNEL_CAP >= 2**20


@given(st.binary(max_size=200))
def test_garbage_on_the_channel_never_raises(channel: bytes) -> None:
    status, reason = read(finished(channel))
    assert status in SandboxStatus
    assert reason


def test_payload_carries_job_and_env_but_not_the_host_path() -> None:
    request = SandboxRequest(app_root=Path("/secret/tree"), app_module="swdemo", handler="login",
                             data={"a": 1}, job_id="42", queue="q", env={"TOKEN": "x"})
    payload = request.payload("/app")
    assert payload["app_root"] == "/app"
    assert payload["job"] == {"id": "42", "name": "login", "queue": "q", "attempt": 1}
    assert payload["env"] == {"TOKEN": "x"}
    assert "/secret" not in json.dumps(payload)
    assert request.with_data({"b": 2}).data == {"b": 2}
