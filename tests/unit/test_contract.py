"""The contract review's prompt and the reading of its answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartworker.reasoning.contract import parse_review, review_messages


def test_yes_and_no_are_read_from_the_first_line_with_the_reason() -> None:
    assert parse_review("YES\n\nThe result matches.") == parse_review("yes: The result matches.")
    review = parse_review("**NO**\n\nThe docstring promises every campaign, one is missing.")
    assert review.accepted is False
    assert review.reason == "The docstring promises every campaign, one is missing."
    assert parse_review("No. `rate` must be 0.0").reason == "`rate` must be 0.0"
    assert parse_review("YES").reason == ""


def test_an_answer_we_cannot_read_leaves_the_verdict_alone() -> None:
    for text in ("", "   \n", "Maybe, it depends", "Nothing to say", "Yesterday it worked", "Nobody knows"):
        assert parse_review(text).accepted is None


@given(st.sampled_from(["YES", "Yes", "yes", "NO", "No", "no"]), st.sampled_from(["", " ", "**", "- ", "> "]),
       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_a_leading_yes_or_no_decides_whatever_follows(word: str, prefix: str, tail: str) -> None:
    review = parse_review(f"{prefix}{word}\n{tail}")
    assert review.accepted is (word.lower() == "yes")
    assert "\n" not in review.reason and len(review.reason) <= 300


def test_review_prompt_shows_code_data_and_result_redacted() -> None:
    files = {"billing/__init__.py": 'API_KEY = "sk-live-abcdefabcdefabcdefabcdef"\ndef f(data):\n    """Doc."""\n'}
    messages = review_messages(files, {"email": "a@b.c", "password": "hunter2"}, {"total": "10.00", "token": "t0k"})
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "docstring is the contract" in messages[0]["content"]
    user = messages[1]["content"]
    assert "# File: billing/__init__.py" in user and '"""Doc."""' in user
    assert '"total": "10.00"' in user
    assert "hunter2" not in user and "t0k" not in user and "sk-live-abcdef" not in user
    assert user.rstrip().endswith("Answer YES or NO on the first line, then one line why.")


def test_review_prompt_caps_what_it_shows() -> None:
    messages = review_messages({"a.py": "x = 1\n" * 5000}, {"rows": list(range(5000))}, ["r"] * 5000)
    assert len(messages[1]["content"]) < 12000
