"""What sets the failed job's data apart from recent successful jobs' data."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smartworker.reasoning.input_diff import MAX_LINES, code_path, differences

ORDERS = [
    {"order": {"id": "o-981", "ship_to": {"name": "Grace", "line1": "1 Navy Way", "line2": "Flat 2B"}}},
    {"order": {"id": "o-982", "ship_to": {"name": "Alan", "line1": "Bletchley Park", "line2": ""}}},
]


def test_a_key_every_earlier_job_had_is_named_as_python_reads_it() -> None:
    failing = {"order": {"id": "o-1", "ship_to": {"name": "Ada", "line1": "12 St James's Square"}}}
    assert differences(failing, ORDERS) == [
        '`data["order"]["ship_to"]["line2"]` is missing here; every earlier job had it']


def test_a_key_most_earlier_jobs_had_is_counted() -> None:
    earlier = [{"amount": 1}, {"amount": 2}, {"id": 3}]
    assert differences({"amount_received": 5}, earlier) == [
        '`data["amount"]` is missing here; 2 of 3 earlier jobs had it',
        '`data["amount_received"]` is new: no earlier job had it']
    # Half is not most: an optional key that comes and goes is not news.
    assert differences({}, [{"note": "a"}, {}]) == []


def test_json_sent_as_a_string_is_read_inside() -> None:
    def body(obj: dict[str, Any]) -> dict[str, str]:
        return {"body": json.dumps({"data": {"object": obj}})}
    earlier = [body({"id": "p1", "amount": 4200}), body({"id": "p2", "amount": 1299})]
    lines = differences(body({"id": "p3", "amount_received": 1999}), earlier)
    assert lines == ['`json.loads(data["body"])["data"]["object"]["amount"]` is missing here; every earlier job had it',
                     '`json.loads(data["body"])["data"]["object"]["amount_received"]` is new: no earlier job had it']


def test_a_value_of_another_kind_is_named_once_not_again_for_its_insides() -> None:
    earlier = [{"options": {"format": "csv"}}, {"options": {"format": "xlsx", "columns": ["id"]}}]
    assert differences({"options": '{"format": "xlsx"}'}, earlier) == [
        '`data["options"]` is a string here; in earlier jobs it was always an object']
    # List elements are compared over every element: one number among strings shows.
    sales = [{"sales": ["1.00", "2.50"]}, {"sales": ["9.99"]}]
    assert differences({"sales": ["1.00", 5.5]}, sales) == [
        '`data["sales"][i]` is a number here; in earlier jobs it was always a string']


def test_empty_zero_and_a_new_layout_are_flagged() -> None:
    earlier = [{"reviews": [{"stars": 5}], "visits": 10, "expires_at": "2099-03-31T23:59:59Z"},
               {"reviews": [{"stars": 3}, {"stars": 4}], "visits": 3, "expires_at": "2019-08-15T09:30:00+02:00"}]
    failing = {"reviews": [], "visits": 0, "expires_at": "2099-01-01T00:00:00"}
    assert differences(failing, earlier) == [
        '`data["reviews"]` is empty here; it was never empty in earlier jobs',
        '`data["visits"]` is 0 here; it was never 0 in earlier jobs',
        '`data["expires_at"]` is "2099-01-01T00:00:00" here; earlier jobs had values like "2099-03-31T23:59:59Z"']


def test_what_varies_freely_between_jobs_is_not_news() -> None:
    # Street lines are free text; ids keep their layout; a map filled by data has new keys every time.
    earlier = [{"id": "o-1", "line1": "1 Navy Way", "stock": {}},
               {"id": "o-22", "line1": "11 Rue Pierre Curie", "stock": {}}]
    assert differences({"id": "o-333", "line1": "12 St James's Square", "stock": {"SKU-1": 3}}, earlier) == []


def test_secrets_show_no_value_and_too_little_history_says_nothing() -> None:
    earlier = [{"api_token": "tok-1234-abcd"}, {"api_token": "tok-5678-efgh"}]
    assert differences({"api_token": "999999"}, earlier) == []
    assert differences({}, ORDERS[:1]) == []


def test_code_path_reads_like_python() -> None:
    from smartworker.sandbox.shape import ITEM, JSON
    assert code_path(("body", JSON, "items", ITEM, 0)) == 'json.loads(data["body"])["items"][i][0]'


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                        max_size=3),
                           max_leaves=12)


@given(json_values, st.lists(json_values, max_size=4))
def test_any_json_gives_a_short_answer_and_data_like_its_history_gives_none(data: Any, earlier: list[Any]) -> None:
    lines = differences(data, earlier)
    assert len(lines) <= MAX_LINES
    assert all(line.startswith("`data") or line.startswith("`json.loads(data") for line in lines)
    assert differences(data, [data, data]) == []
