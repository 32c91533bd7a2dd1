"""Null/absent variants of a failing job's data, for the fields a candidate touches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartworker.reasoning.variants import (
    MAX_VARIANTS,
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


def test_no_sibling_no_variant() -> None:
    # Nothing the code reads from the same receiver is in the data: adding the key would be a guess.
    assert missing_value_variants({"a": {"x": 1}}, {("cfg", "timeout")}, {("cfg", "retries")}) == []
    # Records in lists do not get a new key either.
    data = {"campaigns": [{"visits": 3, "name": "a"}]}
    assert missing_value_variants(data, {("campaign", "rate")}, {("campaign", "visits")}) == []


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
