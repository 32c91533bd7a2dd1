"""The majority vote and the winner rules of the memory search."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from smartworker.memory.vote import Hit, decide, exception_type_of, majority, tally

voters = st.lists(st.integers(min_value=1, max_value=6), max_size=30)


@given(voters)
def test_winner_always_holds_a_strict_majority(votes: list[int]) -> None:
    winner = majority(votes)
    if winner is not None:
        assert 2 * votes.count(winner) > len(votes)


@given(voters)
def test_a_strict_majority_always_wins(votes: list[int]) -> None:
    counts = Counter(votes)
    leaders = [c for c, n in counts.items() if 2 * n > len(votes)]
    assert majority(votes) == (leaders[0] if leaders else None)


@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=10))
def test_a_tie_has_no_winner(half: list[int]) -> None:
    # Two candidates with the same number of votes: neither has more than half.
    votes = [1] * len(half) + [2] * len(half)
    assert majority(votes) is None


@given(voters, st.integers(min_value=0, max_value=40))
def test_abstentions_count_against_the_leader(votes: list[int], abstaining: int) -> None:
    winner = majority(votes, total=len(votes) + abstaining)
    if winner is not None:
        assert 2 * votes.count(winner) > len(votes) + abstaining


def test_empty_vote_has_no_winner() -> None:
    assert majority([]) is None
    assert tally([]) == []


def test_tally_orders_by_votes() -> None:
    assert tally([3, 1, 1, 2, 1, 3]) == [(1, 3), (3, 2), (2, 1)]


def _hit(failure_id: int, category: str, distance: float = 0.0) -> Hit:
    return Hit(chunk_id=hash((failure_id, category, distance)), failure_id=failure_id, category=category,
               content="", distance=distance, weighted=distance)


def test_decide_needs_an_anchor_category() -> None:
    # Same job and same code around, but neither signature nor failing line: another bug.
    hits = [_hit(1, "metadata"), _hit(1, "code_context")]
    assert decide(hits)[0] is None
    assert decide([*hits, _hit(1, "error_signature")])[0] == 1


def test_decide_ignores_far_hits() -> None:
    hits = [_hit(1, "error_signature"), _hit(2, "error_signature", 0.6), _hit(2, "metadata", 0.7)]
    winner, counts = decide(hits)
    assert winner == 1
    assert counts == [(1, 1)]


def test_decide_requires_the_same_exception_type() -> None:
    hits = [_hit(1, "error_signature"), _hit(1, "failure_location")]
    assert decide(hits, {1: "KeyError"}, "TypeError")[0] is None
    assert decide(hits, {1: "json.decoder.JSONDecodeError"}, "JSONDecodeError")[0] == 1
    assert decide(hits, {1: "KeyError"}, None)[0] == 1


@given(st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["error_signature", "failure_location",
                                                               "code_context", "metadata"]),
                          st.floats(0, 1)), max_size=20))
def test_decide_winner_has_strict_majority_of_voting_hits(raw: list[tuple[int, str, float]]) -> None:
    hits = [_hit(f, c, d) for f, c, d in raw]
    winner, counts = decide(hits)
    total = sum(n for _, n in counts)
    if winner is not None:
        assert 2 * dict(counts)[winner] > total


def test_exception_type_of() -> None:
    assert exception_type_of("KeyError: 'email'") == "KeyError"
    assert exception_type_of("json.decoder.JSONDecodeError: Expecting value") == "json.decoder.JSONDecodeError"
    assert exception_type_of("StopIteration") == "StopIteration"
    assert exception_type_of("the job broke again") is None
