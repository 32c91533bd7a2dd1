"""The runner protocol without a sandbox: encoding answers, reading them back, mapping paths."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from smartworker.sandbox import SandboxLimits, SandboxRequest, SandboxStatus
from smartworker.sandbox.process import CHANNEL_CAP, ProcessResult, interpret, map_paths
from smartworker.sandbox.runner import encode, failing_values

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


def _raise_in(source: str, root: Path, data: object) -> BaseException:
    """Run ``f(data)`` from a module file under ``root`` and return what it raised."""
    path = root / "mod.py"
    path.write_text(source)
    namespace: dict[str, object] = {"__name__": "mod"}
    exec(compile(source, str(path), "exec"), namespace)
    try:
        namespace["f"](data)  # type: ignore[operator]
    except Exception as exc:
        return exc
    raise AssertionError("f did not raise")


def test_failing_values_show_the_data_on_the_innermost_app_line(tmp_path: Path) -> None:
    source = ("import json\nRATES = {'EUR': 1}\n\ndef helper(row):\n    return row['visits'] / 0\n\n"
              "def f(data):\n    for campaign in data:\n        if helper(campaign) > RATES[json.dumps(campaign)]:\n"
              "            pass\n")
    exc = _raise_in(source, tmp_path, [{"visits": 0, "name": "n" * 500}])
    values = failing_values(exc, str(tmp_path))
    # The innermost frame is helper(): only its names, data only (no modules or functions).
    assert list(values) == ["row"]
    assert values["row"].startswith("{'name': 'nnn") and len(values["row"]) < 200


def test_failing_values_skip_code_and_unknown_names(tmp_path: Path) -> None:
    source = ("import json\nLIMIT = 3\n\ndef f(data):\n"
              "    if json.loads(data)['n'] > LIMIT + missing_name:\n        pass\n")
    exc = _raise_in(source, tmp_path, '{"n": 5}')
    assert failing_values(exc, str(tmp_path)) == {"data": "'{\"n\": 5}'", "LIMIT": "3"}
    assert failing_values(exc, str(tmp_path / "elsewhere")) == {}


def test_error_answer_values_are_read_back_bounded() -> None:
    answer = {"status": "error", "phase": "handler", "exc_type": "KeyError", "message": "'x'", "traceback": "",
              "values": {"row": "{'path': '/app/a.py'}", "big": "x" * 1000}}
    outcome = interpret(finished(json.dumps(answer).encode()), limits=LIMITS, inner_root="/app", app_root=ROOT)
    assert outcome.values["row"] == "{'path': '/srv/app/a.py'}"
    assert len(outcome.values["big"]) == 400
    answer["values"] = ["not", "a", "map"]
    assert interpret(finished(json.dumps(answer).encode()), limits=LIMITS, inner_root="/app",
                     app_root=ROOT).values == {}


def test_an_index_error_shows_the_computed_index_and_the_length(tmp_path: Path) -> None:
    source = ("def f(data):\n    buckets = [0] * 10\n    for score in data:\n"
              "        buckets[score // 10] += 1\n")
    exc = _raise_in(source, tmp_path, [5, 100])
    values = failing_values(exc, str(tmp_path))
    # The list's own repr is cut at 8 items: only the length says the index is one past the end.
    assert values["buckets"].endswith("...]")
    assert values["score // 10"] == "10"
    assert values["len(buckets)"] == "10"


def test_index_values_evaluate_nothing_that_could_run_user_code(tmp_path: Path) -> None:
    source = ("class Seq:\n    calls = 0\n    def __getitem__(self, i):\n        Seq.calls += 1\n"
              "    def __len__(self):\n        Seq.calls += 1\n        return 1\n\n"
              "def f(data):\n    items, s = [1], Seq()\n    return items[data + 1], s[len(s) + 1]\n")
    exc = _raise_in(source, tmp_path, 0)
    values = failing_values(exc, str(tmp_path))
    assert values["data + 1"] == "1" and values["len(items)"] == "1"
    # s's len() and __getitem__ are user code: describing the line must not call them.
    seq = exc.__traceback__.tb_next.tb_frame.f_globals["Seq"]  # type: ignore[union-attr]
    assert seq.calls == 0
    assert "len(s) + 1" not in values and "len(s)" not in values


def test_other_errors_get_no_index_values(tmp_path: Path) -> None:
    exc = _raise_in("def f(data):\n    return data[len(data) - 1]['x']\n", tmp_path, [{}])
    assert failing_values(exc, str(tmp_path)) == {"data": "[{}]"}
