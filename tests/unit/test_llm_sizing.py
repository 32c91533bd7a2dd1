"""AI_TIMEOUT and AI_CANDIDATES default to what the model that serves fixes needs; explicit values win."""

from __future__ import annotations

import pytest

from smartworker.config import LOCAL_LLM_SIZING, REMOTE_LLM_SIZING, load_settings

#: Variables that would otherwise leak in from the environment running the tests.
SIZING_VARIABLES = ("AI_SERVICE_URL", "AI_TIMEOUT", "AI_CANDIDATES")


@pytest.fixture(autouse=True)
def _no_sizing_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SIZING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_the_bundled_local_model_gets_minutes_and_several_candidates() -> None:
    settings = load_settings()
    assert settings.llm_sizing == "local"
    assert (settings.ai_timeout_s, settings.ai_candidates) == (900.0, 4)
    assert settings.ai_timeout_s >= 5 * REMOTE_LLM_SIZING["ai_timeout_s"]


def test_a_remote_model_keeps_the_tighter_defaults() -> None:
    settings = load_settings(ai_service_url="http://llm.example:8000/v1")
    assert settings.llm_sizing == "remote"
    assert (settings.ai_timeout_s, settings.ai_candidates) == (120.0, 1)


def test_a_blank_service_url_means_the_local_model() -> None:
    assert load_settings(ai_service_url="  ").ai_candidates == LOCAL_LLM_SIZING["ai_candidates"]


@pytest.mark.parametrize("url", [None, "http://llm.example:8000/v1"])
def test_explicit_settings_win_over_either_sizing(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    if url:
        monkeypatch.setenv("AI_SERVICE_URL", url)
    monkeypatch.setenv("AI_TIMEOUT", "45")
    monkeypatch.setenv("AI_CANDIDATES", "2")
    settings = load_settings()
    assert (settings.ai_timeout_s, settings.ai_candidates) == (45.0, 2)
    assert load_settings(ai_candidates=7).ai_candidates == 7  # given in code, as tests and benches do


def test_one_explicit_setting_leaves_the_other_sized(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_TIMEOUT", "300")
    settings = load_settings()
    assert (settings.ai_timeout_s, settings.ai_candidates) == (300.0, LOCAL_LLM_SIZING["ai_candidates"])
