"""The CLI's answers to bad input and bad configuration: exit code 2 and one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import clean_env


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartworker", *args], env=clean_env(**env), text=True,
                          capture_output=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"APP_PORT": "nine"}, "APP_PORT"),
        ({"APP_REDIS_PORT": "70000"}, "APP_REDIS_PORT"),
        ({"REDIS_URL": "http://nope"}, "REDIS_URL"),
        ({"HAZARD_TESTING": "perhaps"}, "HAZARD_TESTING"),
        ({"AI_CANDIDATES": "0"}, "AI_CANDIDATES"),
    ],
)
def test_bad_setting_is_one_line_exit_2(env: dict[str, str], expected: str) -> None:
    result = run("dlq", "list", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_unreachable_redis_is_one_line_and_fast() -> None:
    result = run("dlq", "list", REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0] and "127.0.0.1:1" in lines[0]


@pytest.mark.parametrize("data", ["{oops", "[1, 2]"])
def test_enqueue_rejects_bad_json(data: str, redis_url: str) -> None:
    result = run("enqueue", "login", "--data", data, REDIS_URL=redis_url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--data" in result.stderr


def test_enqueue_unknown_handler(redis_url: str, queue_name: str) -> None:
    result = run("enqueue", "nope", REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name)
    assert result.returncode == 2 and "unknown handler 'nope'" in result.stderr


def test_enqueue_and_list_dlq(redis_url: str, queue_name: str, tmp_path: Path) -> None:
    result = run("enqueue", "login", "--data", '{"email": "alice@example.com", "password": "wonderland"}',
                 REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name)
    assert result.returncode == 0 and result.stdout.strip()
    listed = run("dlq", "list", "--json", REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name)
    assert listed.returncode == 0 and '"total": 0' in listed.stdout


def test_help_everywhere() -> None:
    for args in ([], ["dlq"], ["enqueue"], ["up"]):
        result = run(*args, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout
