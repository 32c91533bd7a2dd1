"""Fixes people rejected are shown to the model as what not to do, redacted and capped."""

from __future__ import annotations

from pathlib import Path

from smartworker.reasoning.context import extract
from smartworker.reasoning.prompt import RejectedFix, fix_messages


def test_rejected_fixes_are_shown_with_their_reasons(tmp_path: Path) -> None:
    (tmp_path / "prices.py").write_text("def parse(text):\n    return int(text)\n")
    traceback = (f'Traceback (most recent call last):\n  File "{tmp_path / "prices.py"}", line 2, in parse\n'
                 "    return int(text)\nValueError: invalid literal for int() with base 10: '12.50'\n")
    ctx = extract(queue="q", job_id="1", job_name="parse", attempts=1, data={"text": "12.50"}, opts={},
                  failed_reason="invalid literal for int() with base 10: '12.50'", stacktrace=[traceback],
                  app_root=tmp_path)
    rejected = [RejectedFix("Prices are Decimal, never float (token=sk_live_abcdefghijklmnop1234)", "use float",
                            "-    return int(text)\n+    return float(text)\n")]
    user = fix_messages(ctx, rejected=rejected)[1]["content"]
    assert "## Fixes a reviewer rejected for this same failure: do not propose them again" in user
    assert "Rejected because: Prices are Decimal, never float" in user and "+    return float(text)" in user
    assert "sk_live_abcdefghijklmnop1234" not in user
    assert user.index("## Full source") < user.index("## Fixes a reviewer rejected") < user.index("## Task")
    assert "rejected" not in fix_messages(ctx)[1]["content"]
