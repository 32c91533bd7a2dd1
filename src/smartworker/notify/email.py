"""Fix reports by email (aiosmtplib): plain text and HTML, with the change attached as a unified diff
and, for a verified fix, as a ``git format-patch`` file (``git am`` applies it), naming its branch.
A report of no fix proposes nothing: it lists every rejected attempt with its reason, and a change
that was tried is attached only as ``rejected-attempt-<id>.diff``, marked as such. A verified fix that
a check which only informs said no to (reasoning/gates.py: the contract review, changed earlier
answers, ...) says so in the subject and lists those concerns first: the person approving it is the
only judge of them, and the gates let through wrong fixes a concern often points at (docs/benchmarks.md).

Off when APP_SMTP_HOST is unset (said once in the log). A failed send is retried with backoff and
logged; it never touches the fix record, which is stored before anyone is notified.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from smartworker.config import Settings
from smartworker.logs import get_logger
from smartworker.redaction import redact_text
from smartworker.telemetry import traced

log = get_logger(__name__)


@dataclass(frozen=True)
class FixReport:
    """What a human needs to know about one resolution attempt."""

    fix_id: str
    fixed: bool
    job_name: str
    job_id: str
    queue: str
    signature: str
    reason: str  #: one line: why fixed / not fixed
    diff: str  #: unified diff of the best candidate ("" when none)
    summary: str = ""  #: root cause and change, for a verified fix
    candidates: int = 0
    patch: str = ""  #: ``git format-patch`` text of a verified fix ("" when none was made)
    branch: str | None = None  #: the fix branch in the application's repository
    attempts: tuple[str, ...] = ()  #: one line per candidate: "candidate k: why it was not taken"
    concerns: tuple[str, ...] = ()  #: for a verified fix, "check: reason" per informing check that said no


def build_message(report: FixReport, sender: str, recipient: str) -> EmailMessage:
    """The email for one report; every text part goes through redaction."""
    verdict = "FIXED" if report.fixed else "NOT FIXED"
    concerns = [redact_text(c) for c in report.concerns] if report.fixed else []
    flagged = f" ({len(concerns)} concern{'s' if len(concerns) > 1 else ''})" if concerns else ""
    signature = redact_text(report.signature)
    message = EmailMessage()
    message["Subject"] = (f"[SmartWorker] {verdict}{flagged}: {report.job_name} job {report.job_id}: "
                          f"{signature[:120]}")
    message["From"] = sender
    message["To"] = recipient
    diff = redact_text(report.diff)
    lines = [
        f"Verdict: {verdict}{flagged}",
        f"Job: {report.job_name} #{report.job_id} on queue {report.queue}",
        f"Error: {signature}",
        f"Why: {redact_text(report.reason)}",
        f"Candidates tried: {report.candidates}",
        f"Fix record: {report.fix_id}",
    ]
    patch = redact_text(report.patch)
    if report.branch:
        lines.append(f"Branch: {report.branch} (one commit; see it with: git show {report.branch})")
    if concerns:
        lines += ["", "Concerns (checks that inform, not veto: verified in the sandbox, but read these before "
                  "approving):", *(f"  - {c}" for c in concerns)]
    if report.summary:
        lines += ["", "Summary:", redact_text(report.summary)]
    if report.attempts and not report.fixed:
        lines += ["", "Rejected attempts:", *(f"  - {redact_text(a)}" for a in report.attempts)]
    if report.fixed:
        lines += ["", "The proposed change is attached as a .diff." if diff else "No change was proposed."]
    else:
        none = "No change is proposed: none passed the checks." if report.attempts else "No change was proposed."
        lines += ["", none]
        if diff:
            lines.append(f"The first attempt that reached the sandbox is attached as {_rejected_name(report)} "
                         "for reference only: it was rejected (the reasons are above), it is not a fix.")
    if patch:
        lines.append(f"fix-{report.fix_id}.patch is the same change as a commit: apply it with git am.")
        if patch != report.patch:
            lines.append("Values that look like secrets were masked in it, so it may not apply as is"
                         + ("; the branch holds the exact change." if report.branch else "."))
    if report.fixed:
        lines += ["", "Review it:", f"  smartworker fix approve {report.fix_id}",
                  f"  smartworker fix reject {report.fix_id} --reason '...'",
                  f"  (or POST /fixes/{report.fix_id}/approve | /reject)"]
    message.set_content("\n".join(lines))
    colour = "#9a6700" if concerns else "#1a7f37" if report.fixed else "#cf222e"
    listed = "".join(f"<li>{html.escape(c)}</li>" for c in concerns)
    attempts = "".join(f"<li>{html.escape(redact_text(a))}</li>" for a in report.attempts)
    rows = "".join(f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in (
        ("Job", f"{report.job_name} #{report.job_id} ({report.queue})"),
        ("Error", signature),
        ("Why", redact_text(report.reason)),
        ("Candidates", str(report.candidates)),
        ("Fix record", report.fix_id),
        *((("Branch", report.branch),) if report.branch else ()),
    ))
    body = (f"<h2 style='color:{colour}'>{html.escape(verdict + flagged)}</h2><table>{rows}</table>"
            + (f"<h3>Concerns (read before approving)</h3><ul>{listed}</ul>" if listed else "")
            + (f"<h3>Summary</h3><p>{html.escape(redact_text(report.summary))}</p>" if report.summary else "")
            + (f"<h3>Change</h3><pre>{html.escape(diff)}</pre>" if diff and report.fixed else "")
            + (f"<h3>Rejected attempts</h3><ul>{attempts}</ul>" if attempts and not report.fixed else "")
            + (f"<h3>A rejected attempt (not a fix)</h3><pre>{html.escape(diff)}</pre>"
               if diff and not report.fixed else ""))
    message.add_alternative(f"<html><body>{body}</body></html>", subtype="html")
    if diff and report.fixed:
        message.add_attachment(diff.encode("utf-8"), maintype="text", subtype="x-diff",
                               filename=f"fix-{report.fix_id}.diff")
    elif diff:  # said in the file too, for whoever finds it without the email
        marked = f"# REJECTED ATTEMPT, NOT A FIX (SmartWorker fix record {report.fix_id})\n{diff}"
        message.add_attachment(marked.encode("utf-8"), maintype="text", subtype="x-diff",
                               filename=_rejected_name(report))
    if patch:
        message.add_attachment(patch.encode("utf-8"), maintype="text", subtype="x-patch",
                               filename=f"fix-{report.fix_id}.patch")
    return message


def _rejected_name(report: FixReport) -> str:
    return f"rejected-attempt-{report.fix_id}.diff"


class EmailNotifier:
    """Sends fix reports through APP_SMTP_*."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._said_off = False

    @property
    def enabled(self) -> bool:
        """False when no SMTP host is configured."""
        return bool(self.settings.smtp_host)

    @traced("email")
    async def notify(self, report: FixReport) -> bool:
        """Send the report; True when the server accepted it. Never raises."""
        if not self.enabled:
            if not self._said_off:
                log.info("email notifications are off (APP_SMTP_HOST is not set)")
                self._said_off = True
            return False
        s = self.settings
        sent = await self._send(build_message(report, s.smtp_from, s.smtp_to), fix_id=report.fix_id)
        if sent:
            log.info("fix report sent", fix_id=report.fix_id, to=s.smtp_to, fixed=report.fixed)
        return sent

    async def alert(self, subject: str, text: str) -> bool:
        """Send an operational alert (an outage); True when the server accepted it. Never raises."""
        if not self.enabled:
            return False
        message = EmailMessage()
        message["Subject"] = f"[SmartWorker] {subject}"
        message["From"], message["To"] = self.settings.smtp_from, self.settings.smtp_to
        message.set_content(redact_text(text))
        return await self._send(message, alert=subject)

    async def _send(self, message: EmailMessage, **about: str) -> bool:
        s = self.settings
        kwargs: dict[str, Any] = {
            "hostname": s.smtp_host, "port": s.smtp_port, "timeout": s.smtp_timeout_s,
            "use_tls": s.smtp_tls == "tls", "start_tls": s.smtp_tls == "starttls",
        }
        if s.smtp_user:
            kwargs.update(username=s.smtp_user, password=s.smtp_password or "")
        for attempt in range(s.smtp_retries + 1):
            try:
                await aiosmtplib.send(message, **kwargs)
                return True
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                log.warning("email not sent", **about, attempt=attempt + 1, error=str(exc))
                if attempt < s.smtp_retries:
                    await asyncio.sleep(min(0.5 * 2**attempt, 10.0))
        log.error("email given up", **about)
        return False
