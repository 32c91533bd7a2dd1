"""The report of a verified fix names its branch and carries the patch, redacted like every text part."""

from __future__ import annotations

from smartworker.notify.email import FixReport, build_message

PATCH = """From 0123 Mon Sep 17 00:00:00 2001
Subject: [PATCH] Fix greet

---
diff --git a/shop/tasks.py b/shop/tasks.py
--- a/shop/tasks.py
+++ b/shop/tasks.py
@@ -1 +1 @@
-GREETING = "{key}"
+GREETING = "{key}"  # fixed
"""


def _report(patch: str, branch: str | None) -> FixReport:
    return FixReport(fix_id="f1", fixed=True, job_name="greet", job_id="7", queue="q", signature="KeyError: 'x'",
                     reason="candidate 1", diff="--- a\n+++ b\n", summary="s", patch=patch, branch=branch)


def _parts(report: FixReport) -> tuple[str, dict[str, str]]:
    message = build_message(report, "from@x", "to@x")
    files = {p.get_filename(): p.get_payload(decode=True).decode() for p in message.walk() if p.get_filename()}
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain" and not p.get_filename())
    return text.get_payload(decode=True).decode(), files


def test_a_verified_fix_report_names_the_branch_and_attaches_the_patch() -> None:
    text, files = _parts(_report(PATCH.format(key="Hello"), "smartworker/fix/f1"))
    assert set(files) == {"fix-f1.diff", "fix-f1.patch"} and files["fix-f1.patch"] == PATCH.format(key="Hello")
    assert "Branch: smartworker/fix/f1" in text and "apply it with git am" in text
    assert "smartworker fix approve f1" in text and "masked" not in text


def test_a_secret_in_the_patch_is_masked_and_said_so() -> None:
    secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    text, files = _parts(_report(PATCH.format(key=f"token={secret}"), "smartworker/fix/f1"))
    assert secret not in files["fix-f1.patch"] and "[REDACTED]" in files["fix-f1.patch"]
    assert "may not apply as is; the branch holds the exact change." in text


def test_outside_git_there_is_no_branch_line() -> None:
    text, files = _parts(_report(PATCH.format(key="Hello"), None))
    assert "Branch:" not in text and "fix-f1.patch" in files


def test_a_report_without_attempts_says_nothing_was_proposed() -> None:
    report = FixReport(fix_id="f2", fixed=False, job_name="login", job_id="9", queue="q", signature="TypeError: x",
                       reason="sandbox unavailable: bwrap not found", diff="")
    message = build_message(report, "a@b.c", "d@e.f")
    text = message.get_body(("plain",)).get_content()
    assert "No change was proposed." in text and "Rejected attempts" not in text
    assert not [p for p in message.iter_attachments()]


def test_a_verified_fix_with_concerns_says_so_in_the_subject_and_lists_them_first() -> None:
    secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    report = FixReport(fix_id="f3", fixed=True, job_name="login", job_id="9", queue="q", signature="KeyError: 'x'",
                       reason="candidate 1", diff="--- a\n+++ b\n", summary="Read the new key.",
                       concerns=("contract review: a review says the user must be the email",
                                 f"replay answers: job 4 now answers {secret}"))
    message = build_message(report, "a@b.c", "d@e.f")
    assert message["Subject"].startswith("[SmartWorker] FIXED (2 concerns): login job 9")
    text = message.get_body(("plain",)).get_content()
    assert "Verdict: FIXED (2 concerns)" in text
    concerns = text.index("Concerns (checks that inform")
    assert concerns < text.index("Summary:")  # read before the change is explained
    assert "  - contract review: a review says the user must be the email" in text
    html = message.get_body(("html",)).get_content()
    assert "Concerns (read before approving)" in html and "#9a6700" in html
    assert secret not in text and secret not in html and "[REDACTED]" in text


def test_concerns_are_not_shown_on_a_report_of_no_fix() -> None:
    report = FixReport(fix_id="f4", fixed=False, job_name="login", job_id="9", queue="q", signature="KeyError: 'x'",
                       reason="candidate 1: still fails", diff="", concerns=("result shape: other keys",))
    message = build_message(report, "a@b.c", "d@e.f")
    assert message["Subject"].startswith("[SmartWorker] NOT FIXED: login job 9")
    assert "Concerns" not in message.get_body(("plain",)).get_content()


def test_a_verified_fix_without_concerns_reads_as_before() -> None:
    text, _ = _parts(_report(PATCH.format(key="Hello"), None))
    assert "Verdict: FIXED\n" in text and "Concerns" not in text
