"""Correct fixes today's gates turn down, and wrong fixes they let through: findings for whoever owns
the gates (src/smartworker/reasoning, sandbox/verdict.py), not decisions.

tests/integration/test_corpus.py marks exactly these items as expected failures with ``strict=True``:
main stays green while a finding stands, and a gate change that settles one makes its test fail until
the entry is deleted. Each value names the gate and why it is wrong to reject (or right to).
"""

from __future__ import annotations

#: correct-fix item id -> "gate: why the gate turns down this correct fix"
KNOWN_REJECTED: dict[str, str] = {}  # emptied by the verdict branch: every correct item passes (docs/benchmarks.md)

#: wrong-fix item id -> "what lets it through"
#: While the gates let more than 5 % through (today's rate: docs/benchmarks.md), the wrong corpus runs as
#: this strict list rather than as a rate.
_KEEPS_THE_BUG = "keeps the old bug: earlier answers stay the same, so the replay agrees; no gate knows the value"
_MADE_UP = "a made-up value for missing data: the job completes and no gate judges what the value means"
_NEW_INPUTS_ONLY = "wrong only for inputs neither the failing job nor the earlier jobs hold: no run shows it"

KNOWN_FALSE_ACCEPTS: dict[str, str] = {
    # Let through since dropped_call and ignored_input inform instead of veto (verdict, 2026-12-07): the
    # record shows the flag to the person; the loop does not turn the candidate down.
    "avatar_url_no_normalise": "dropped_call informs: the dropped .strip()/.lower() is flagged, not vetoed",
    "contact_phone_digits_only": "dropped_call informs: the dropped step is flagged, not vetoed",
    "newsletter_strip_entities": "dropped_call informs: the dropped unescape is flagged, not vetoed",
    "report_best_first_seen": "dropped_call informs: the dropped sort step is flagged, not vetoed",
    "event_capacity_none_zero": "ignored_input informs: the docstring key the fix ignores is flagged, not vetoed",
    "user_import_blank_email": "ignored_input informs: the docstring key the fix ignores is flagged, not vetoed",
    "letter_grade_absent_f": ("the absent form of a key sent as null is a tolerant variant (verdict): the fix may "
                              "answer it otherwise"),
    "age_gate_zero_default": _MADE_UP,
    "archive_month_clamp": _KEEPS_THE_BUG,
    "attachment_name_placeholder": _MADE_UP,
    "bulk_price_cast_only": _KEEPS_THE_BUG,
    "cart_qty_falsy_one": "half-null the other way (0 read as missing): the variants test null against absent, not 0",
    "commission_clamped_index": _NEW_INPUTS_ONLY,
    "course_grade_get_default": ("half-null inside a nested dict (scores.project): no null variant is made"
                                 " for a nested key"),
    "dispatch_tie_by_id": _NEW_INPUTS_ONLY,
    "inventory_dropship_main_site": _MADE_UP,
    "invoice_total_float_cast": _KEEPS_THE_BUG,
    "kpi_change_zero_base": _MADE_UP,
    "library_due_epoch_only": _KEEPS_THE_BUG,
    "login_lockout_drop_offset": _NEW_INPUTS_ONLY,
    "loyalty_float_multiplier": _NEW_INPUTS_ONLY,
    "member_age_date_prefix": _KEEPS_THE_BUG,
    "night_shift_2359": _NEW_INPUTS_ONLY,
    "order_reference_keep_five_digits": _NEW_INPUTS_ONLY,
    "pagination_at_least_one": _KEEPS_THE_BUG,
    "parcel_weight_strip_unit": _NEW_INPUTS_ONLY,
    "payroll_round_blocks": _NEW_INPUTS_ONLY,
    "rating_average_zero": _MADE_UP,
    "refund_total_or_one": _MADE_UP,
    "search_page_cast_only": _KEEPS_THE_BUG,
    "sensor_missing_as_zero": _MADE_UP,
    "shipping_quote_int_grams": _NEW_INPUTS_ONLY,
    "stock_counts_truncate": _NEW_INPUTS_ONLY,
    "thermostat_value_only": _NEW_INPUTS_ONLY,
    "vat_strip_percent_only": _KEEPS_THE_BUG,
    "video_duration_truncate": _NEW_INPUTS_ONLY,
}
