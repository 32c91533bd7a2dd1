"""Correct fixes that today's checks turn down: FixBench reference fixes some check rejects.

Findings for whoever owns the checks, not decisions. Each entry names a case whose reference fix
(correct: it passes the case's acceptance check) a check rejects, and why. The tests mark exactly
these as expected failures with ``strict=True``, so main stays green while the findings stand, and a
check that starts accepting one makes its test fail until the entry is deleted. Keys:

- ``review``: the static checks on the fix alone (reasoning/review.py);
- ``verdict_history``: the sandbox verdict with the case's earlier jobs as replay references
  (tests/integration/test_fixbench_verdict.py);
- ``loop_history_on`` / ``loop_history_off``: the whole loop answered by ``reference_model``, with
  and without the earlier jobs (tests/integration/test_fixbench_reference_loop.py).
"""

from __future__ import annotations

#: check -> case id -> why the check rejects that case's reference fix.
KNOWN_REJECTIONS: dict[str, dict[str, str]] = {
    "review": {
        "leaderboard_custom_sort": "dropped_call: the fix replaces list.sort() (which returns None) by sorted()",
        "mail_archive_subject_rfc2047": "dropped_call: the fix replaces ''.join(...) by str(make_header(...))",
        "marketplace_feed_weight_null": "hidden_error: the fix catches TypeError, which is the documented fallback "
                                        "('manual') for a weight that is not a number",
        "newsletter_unsubscribe_token": "dropped_call: the fix replaces b64decode by urlsafe_b64decode",
        "order_update_prefs_shared": "dropped_call: the fix replaces the in-place dict.update by a new dict",
    },
    "verdict_history": {
        "bill_split_cents": "replay: the fix rightly changes an earlier table the old float code left a cent short",
        "hotel_stay_extra_night": "replay: the fix rightly stops charging earlier stays an extra night",
        "mail_archive_subject_rfc2047": "result shape: message_id 'a81f@mail.example.de' is laid out unlike the "
                                        "earlier jobs' ids",
        "meter_weekly_average_window": "replay: the fix rightly changes earlier meters' latest 7-day average",
        "order_update_prefs_shared": "replay: the fix rightly stops an earlier batch's language leaking to the "
                                     "next recipient",
        "rent_statement_month_name": "replay: the fix rightly corrects earlier statements' month names",
        "store_sales_local_day": "replay: the fix rightly moves earlier evening orders to their local day",
    },
    "loop_history_on": {
        "leaderboard_custom_sort": "dropped_call (replaces list.sort() by sorted())",
        "mail_archive_subject_rfc2047": "dropped_call (replaces ''.join by make_header)",
        "marketplace_feed_weight_null": "hidden_error (catches TypeError for the documented 'manual' fallback)",
        "newsletter_unsubscribe_token": "dropped_call (replaces b64decode by urlsafe_b64decode)",
        "order_update_prefs_shared": "dropped_call (replaces the in-place dict.update by a new dict)",
        "bill_split_cents": "replay (the fix rightly changes an earlier answer)",
        "hotel_stay_extra_night": "replay (the fix rightly changes an earlier answer)",
        "meter_weekly_average_window": "replay (the fix rightly changes an earlier answer)",
        "rent_statement_month_name": "replay (the fix rightly changes an earlier answer)",
        "store_sales_local_day": "replay (the fix rightly changes an earlier answer)",
    },
    "loop_history_off": {
        "leaderboard_custom_sort": "dropped_call (replaces list.sort() by sorted())",
        "mail_archive_subject_rfc2047": "dropped_call (replaces ''.join by make_header)",
        "marketplace_feed_weight_null": "hidden_error (catches TypeError for the documented 'manual' fallback)",
        "newsletter_unsubscribe_token": "dropped_call (replaces b64decode by urlsafe_b64decode)",
        "order_update_prefs_shared": "dropped_call (replaces the in-place dict.update by a new dict)",
    },
}
