"""Null/absent and empty-collection variants of a failing job's data, for the fields a candidate touches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartworker.reasoning.variants import (
    MAX_EMPTY_VARIANTS,
    MAX_VARIANTS,
    deliberate_failure,
    empty_collection_variants,
    missing_value_variants,
    nearby_fields,
    touched_fields,
)

SHIPPING_DIFF = '''--- a/shipping/labels.py
+++ b/shipping/labels.py
@@ -7,7 +7,7 @@
     lines = [address["name"], address["line1"]]
-    if address["line2"].strip():
+    if address.get("line2", "").strip():
         lines.append(address["line2"].strip())
     lines.append(f"{address['postcode']} {address['city']}")
'''
ORDER = {"order": {"id": "o-1", "ship_to": {"name": "Ada", "line1": "12 Square", "postcode": "SW1", "city": "L"}}}


def test_fields_are_dict_reads_not_any_quoted_string() -> None:
    diff = '''@@ -1,3 +1,3 @@
-    text = raw.decode("utf-8")
+    text = raw.decode(data.get("charset") or "utf-8")
     return {"count": len(rows), "rows": rows}
'''
    assert touched_fields(diff) == {("data", "charset")}
    assert nearby_fields(diff) == {("data", "charset")}


def test_touched_and_nearby_fields() -> None:
    assert touched_fields(SHIPPING_DIFF) == {("address", "line2")}
    near = nearby_fields(SHIPPING_DIFF)
    assert {("address", "name"), ("address", "line1"), ("address", "postcode"), ("address", "city")} <= near
    # The failing line counts as touched even when the diff does not repeat it.
    assert ("customer", "tier") in touched_fields("", 'multiplier = MULTIPLIERS[customer["tier"]]')


def test_absent_field_becomes_null_where_its_siblings_live() -> None:
    variants = missing_value_variants(ORDER, touched_fields(SHIPPING_DIFF), nearby_fields(SHIPPING_DIFF))
    assert [v.description for v in variants] == ["`line2` null instead of absent (in order.ship_to)"]
    assert variants[0].data["order"]["ship_to"]["line2"] is None
    assert "line2" not in ORDER["order"]["ship_to"]  # the job's own data is left alone


def test_null_field_becomes_absent() -> None:
    data = {"invoice_id": "INV-2", "discount_percent": None, "lines": [{"discount_percent": None}]}
    variants = missing_value_variants(data, {("data", "discount_percent")})
    # Top level only: a record inside a list stands for many, so it is walked but not given a null.
    assert [v.description for v in variants] == ["`discount_percent` absent instead of null (in the job data)",
                                                  "`discount_percent` absent instead of null (in lines.0)"]
    assert "discount_percent" not in variants[0].data and variants[0].data["lines"][0]["discount_percent"] is None
    # A producer that sends the key as null may always send it: the absent form is tolerant.
    assert not any(v.strict for v in variants)


def test_a_single_key_read_gets_its_null_form_too() -> None:
    # `.get("timeout", 30)` handles an absent key; only a null shows whether it handles that too. With
    # no sibling to say which dict the code reads, the null goes to the job data and the first record
    # of each list, as a tolerant variant: it must not repeat the original failure.
    variants = missing_value_variants({"a": {"x": 1}, "rows": [{"y": 2}]}, {("cfg", "timeout")},
                                      {("cfg", "retries")})
    assert [(v.description, v.same_answer) for v in variants] == [
        ("`timeout` null instead of absent (in the job data)", False),
        ("`timeout` null instead of absent (in rows.0)", False)]
    assert not any(v.strict for v in variants)
    assert variants[0].data == {"a": {"x": 1}, "rows": [{"y": 2}], "timeout": None}
    assert variants[1].data["rows"] == [{"y": 2, "timeout": None}]


def test_a_receiver_that_names_its_dict_places_the_null_there() -> None:
    data = {"order": {"id": "o-1", "ship_to": {"name": "Ada"}}}
    variants = missing_value_variants(data, {('order["ship_to"]', "line2")})
    assert [(v.description, v.same_answer) for v in variants] == [
        ("`line2` null instead of absent (in order.ship_to)", True)]


def test_records_in_lists_get_the_null_where_their_siblings_live() -> None:
    data = {"campaigns": [{"visits": 3, "name": "a"}]}
    variants = missing_value_variants(data, {("campaign", "rate")}, {("campaign", "visits")})
    assert [(v.description, v.same_answer) for v in variants] == [
        ("`rate` null instead of absent (in campaigns.0)", True)]


@settings(max_examples=200, deadline=None)
@given(data=st.recursive(st.dictionaries(st.sampled_from(["a", "b", "c", "line2"]),
                                         st.none() | st.integers() | st.text(max_size=3), max_size=4),
                         lambda inner: st.dictionaries(st.sampled_from(["a", "b", "c", "line2"]),
                                                       inner | st.lists(inner, max_size=2), max_size=4),
                         max_leaves=12),
       keys=st.sets(st.sampled_from(["a", "b", "c", "line2"]), max_size=3))
def test_variants_differ_from_the_data_by_one_missing_value(data: dict, keys: set[str]) -> None:
    fields = {("d", k) for k in keys}
    variants = missing_value_variants(data, fields, {("d", "a"), ("d", "b")})
    assert len(variants) <= MAX_VARIANTS
    for variant in variants:
        assert variant.data != data
        key = variant.description.split("`")[1]
        assert key in keys


# -- empty collections -----------------------------------------------------------------------------

CAMPAIGN_DIFF = """@@ -10,5 +10,5 @@
     rows = []
     for campaign in data["campaigns"]:
-        rate = round(campaign["conversions"] / campaign["visits"] * 100, 2)
+        rate = round(campaign["conversions"] / campaign["visits"] * 100, 2) if campaign["visits"] else 0.0
         rows.append({"name": campaign["name"], "rate": rate})
"""
CAMPAIGNS = {"campaigns": [{"name": "spring", "visits": 200, "conversions": 9},
                           {"name": "newsletter", "visits": 0, "conversions": 0}],
             "tags": ["q2", "paid"]}


def test_list_of_records_holding_a_touched_field_is_emptied() -> None:
    # Only the per-record read is touched; the list holding those records is the aggregate to empty.
    touched = {("campaign", "conversions"), ("campaign", "visits")}
    variants = empty_collection_variants(CAMPAIGNS, touched)
    assert [v.description for v in variants] == ["`campaigns` empty (in the job data)"]
    assert variants[0].data == {"campaigns": [], "tags": ["q2", "paid"]}
    assert not variants[0].strict
    assert len(CAMPAIGNS["campaigns"]) == 2  # the job's own data is left alone


def test_campaign_diff_empties_campaigns_once() -> None:
    # `campaigns` is both read (nearby) and a list of touched records: one variant, not two.
    variants = empty_collection_variants(CAMPAIGNS, touched_fields(CAMPAIGN_DIFF), nearby_fields(CAMPAIGN_DIFF))
    assert [v.description for v in variants] == ["`campaigns` empty (in the job data)"]


def test_directly_read_list_is_emptied() -> None:
    data = {"product": "p-1", "reviews": [4, 5, 3]}
    variants = empty_collection_variants(data, {("data", "reviews")})
    assert [(v.description, v.data) for v in variants] == [("`reviews` empty (in the job data)",
                                                            {"product": "p-1", "reviews": []})]
    # A nearby read counts too: the list the changed line iterates over is read on a context line.
    assert empty_collection_variants(data, set(), {("data", "reviews")})[0].data["reviews"] == []


def test_untouched_scalars_and_empty_lists_give_no_variant() -> None:
    touched = {("campaign", "visits")}
    assert empty_collection_variants({"tags": ["a", "b"], "ids": [1, 2]}, touched) == []
    assert empty_collection_variants({"campaigns": []}, touched) == []
    assert empty_collection_variants({"reviews": []}, {("data", "reviews")}) == []
    # A touched key that is a scalar holds no collection.
    assert empty_collection_variants({"visits": 3}, touched) == []


def test_nested_list_is_described_by_its_path() -> None:
    data = {"report": {"period": "2024-05", "days": [{"date": "2024-05-01", "orders": [{"total": 10}]}]}}
    variants = empty_collection_variants(data, {("order", "total")})
    assert [v.description for v in variants] == ["`orders` empty (in report.days.0)"]
    assert variants[0].data["report"]["days"][0]["orders"] == []
    variants = empty_collection_variants(data, {("report", "days")})
    assert [v.description for v in variants] == ["`days` empty (in report)"]


def test_at_most_two_shallowest_first() -> None:
    data = {"deep": {"c": [1]}, "a": [1], "b": [2], "d": [3]}
    variants = empty_collection_variants(data, {("x", k) for k in "abcd"})
    assert len(variants) == MAX_EMPTY_VARIANTS == 2
    assert [v.description for v in variants] == ["`a` empty (in the job data)", "`b` empty (in the job data)"]


def test_deliberate_failure_is_a_raise_or_assert_line() -> None:
    # A page past the end of no items is rightly refused with the same ValueError the job failed on.
    assert deliberate_failure('        raise ValueError(f"page {page} out of range (1..{pages})")')
    assert deliberate_failure("assert rows, 'no rows'")
    assert not deliberate_failure("average = round(sum(stars) / len(stars), 1)")
    assert not deliberate_failure("raised = compute(data)")
    assert not deliberate_failure("")


_JSON = st.recursive(st.none() | st.integers() | st.text(max_size=3),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["a", "b", "c", "items"]), inner, max_size=4),
                     max_leaves=16)


def _lists_emptied(before: object, after: object) -> list[object]:
    """The lists of ``before`` that are ``[]`` in ``after``, when the two differ in nothing else."""
    if isinstance(before, list) and before and after == []:
        return [before]
    if isinstance(before, dict) and isinstance(after, dict) and before.keys() == after.keys():
        return [x for k in before for x in _lists_emptied(before[k], after[k])]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [x for b, a in zip(before, after, strict=True) for x in _lists_emptied(b, a)]
    assert before == after, (before, after)
    return []


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["a", "b", "c", "items"]), _JSON, max_size=4),
       keys=st.sets(st.sampled_from(["a", "b", "c", "items"]), max_size=3))
def test_empty_variants_differ_from_the_data_by_one_emptied_list(data: dict, keys: set[str]) -> None:
    variants = empty_collection_variants(data, {("d", k) for k in keys}, {("d", "items")})
    assert len(variants) <= MAX_EMPTY_VARIANTS
    assert len({v.description for v in variants}) == len(variants)
    for variant in variants:
        assert not variant.strict
        assert len(_lists_emptied(data, variant.data)) == 1
