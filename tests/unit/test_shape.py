"""The result-shape check: what earlier results all agree on is required of the failed job's result."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smartworker.sandbox.shape import mismatch

INVOICES = [
    {"invoice_id": "INV-0988", "subtotal": "120.00", "discount": "0.00", "total": "144.00"},
    {"invoice_id": "INV-0989", "subtotal": "45.98", "discount": "2.30", "total": "43.68"},
]


def test_money_that_lost_its_decimals_is_flagged() -> None:
    odd = dict(INVOICES[0], invoice_id="INV-1", discount="0")
    assert mismatch(odd, INVOICES) == '`discount` in the result is "0", unlike every earlier job\'s (e.g. "0.00")'


def test_a_result_like_the_others_passes() -> None:
    assert mismatch({"invoice_id": "INV-7", "subtotal": "9.99", "discount": "0.00", "total": "9.99"}, INVOICES) is None
    # Signs and thousands separators do not change what a number looks like.
    big = {"invoice_id": "INV-10000", "subtotal": "1,250.00", "discount": "-5.00", "total": "1 245.00"}
    assert mismatch(big, INVOICES) is None


def test_dates_keep_their_layout() -> None:
    refs = [{"at": "2026-03-01T10:00:00+00:00"}, {"at": "2026-03-02T11:30:00+00:00"}]
    assert mismatch({"at": "2026-03-03T09:00:00+00:00"}, refs) is None
    assert mismatch({"at": "2026-03-03T09:00:00"}, refs) == (
        '`at` in the result is "2026-03-03T09:00:00", unlike every earlier job\'s (e.g. "2026-03-01T10:00:00+00:00")')


def test_an_error_dict_instead_of_the_record_is_flagged() -> None:
    assert mismatch({"error": "bad byte"}, INVOICES) == (
        "the result has no `discount` key, which every earlier job's result has")


def test_a_list_instead_of_a_dict_is_flagged() -> None:
    assert mismatch([1, 2], INVOICES) == "the result is a list, where every earlier job's is an object"


def test_a_fixed_record_that_lost_its_keys_is_flagged_but_data_keyed_dicts_are_not() -> None:
    ratings = [{"histogram": {"1": 0, "2": 3}}, {"histogram": {"1": 1, "2": 0}}]
    assert mismatch({"histogram": {}}, ratings) == (
        "`histogram` in the result has no `1` key, which every earlier job's result has (they all have 1, 2)")
    by_currency = [{"totals": {"EUR": 5}}, {"totals": {"EUR": 7, "GBP": 1}}]
    assert mismatch({"totals": {"USD": 3}}, by_currency) is None


def test_what_the_references_disagree_on_is_free() -> None:
    refs = [{"id": 7, "note": "a1"}, {"id": "x-7", "note": "b22-3"}]
    assert mismatch({"id": 3.5, "note": "free text"}, refs) is None


def test_null_leaves_empty_lists_and_prose_are_accepted() -> None:
    refs = [{"rate": 6.77, "items": [{"sku": "A-1"}], "body": "Top 3:\n1. x"},
            {"rate": 4.5, "items": [{"sku": "B-22"}], "body": "Top 1:\n1. y"}]
    assert mismatch({"rate": None, "items": [], "body": "Nothing this week, see 2027"}, refs) is None
    assert mismatch({"rate": 1, "items": [{"sku": 5}], "body": ""}, refs) == (
        "`items[].sku` in the result is 5, unlike every earlier job's (e.g. \"A-1\")")


def test_one_reference_is_not_enough_to_require_anything() -> None:
    assert mismatch({"error": "x"}, INVOICES[:1]) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


@given(st.lists(JSON, min_size=2, max_size=4), st.data())
def test_any_of_the_references_passes_against_them_all(refs: list[Any], data: st.DataObject) -> None:
    chosen = data.draw(st.sampled_from(refs))
    assert mismatch(chosen, refs) is None
