"""A verified fix made deliverable, right after the verdict: branch ``smartworker/fix/<id>`` with one
commit when APP_ROOT_DIR is inside a git repository, a ``git format-patch`` file either way, and the
fixed contents with their hashes, which ``apply`` needs to prove a file is unchanged since.

The commit is built from objects and a private index file (fixes/git.py): the user's working tree,
index and current branch are never touched, and no hook of theirs runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

import redis.asyncio as aioredis

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import DeliveryError, ProposalRejectedError
from smartworker.fixes.git import Identity, Repository, merge_file, sha256, standalone_patch
from smartworker.logs import get_logger
from smartworker.reasoning.edits import check_path, unified_diff
from smartworker.reasoning.records import FixRecord, Review, ReviewState, ReviewStep, TouchedFile
from smartworker.redaction import redact_text

log = get_logger(__name__)

#: Fix branches are named BRANCH_PREFIX + the fix record's id.
BRANCH_PREFIX = "smartworker/fix/"
#: Who makes the proposal step.
PROPOSER = "smartworker"


def branch_name(fix_id: str) -> str:
    """The branch of one fix."""
    return BRANCH_PREFIX + fix_id


def identity(settings: Settings) -> Identity:
    """The configured author and committer of fix commits."""
    return Identity(settings.fix_author_name, settings.fix_author_email)


def checked_path(app_root: Path, rel: str) -> Path:
    """The file ``rel`` names under APP_ROOT_DIR, checked again before git or ``apply`` uses it: the
    proposal's rules (relative, no ``..``, no hidden parts, allowed types, inside the root), no control
    characters, and no symbolic link on the way, so the repository path and the file are the same."""
    try:
        clean = check_path(rel, app_root)
    except ProposalRejectedError as exc:
        raise DeliveryError(exc.message) from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in clean):
        raise DeliveryError(f"{clean!r}: control characters in a path")
    current = app_root.resolve()
    for part in PurePosixPath(clean).parts:
        current = current / part
        if current.is_symlink():
            raise DeliveryError(f"{clean}: goes through a symbolic link")
    return current


def with_line_endings(original: bytes | None, new: str) -> bytes:
    """``new`` encoded, with CRLF line ends when the original file used them (the fix was written
    from its text, where every line end reads as LF)."""
    if original is not None and b"\r\n" in original and "\r\n" not in new:
        return new.replace("\n", "\r\n").encode("utf-8")
    return new.encode("utf-8")


def evidence(record: FixRecord) -> list[str]:
    """The verdict's evidence for the winning candidate, one line each, redacted."""
    lines = [f"Verdict: {record.reason}"]
    winner = next((c for c in reversed(record.candidates) if c.verdict == "fixed"), None)
    if winner is not None:
        outcome = winner.outcome or {}
        if outcome:
            lines.append(f"The failed job ran against the fix in the sandbox: {outcome.get('status')} "
                         f"in {outcome.get('duration_s')} s")
        if winner.replays:
            ok = sum(1 for r in winner.replays if r.get("status") == "ok")
            lines.append(f"Earlier successful jobs replayed against it: {ok} of {len(winner.replays)} ok")
        if winner.review:
            lines.append(f"Contract review: {winner.review}")
    return [redact_text(line) for line in lines]


def commit_message(record: FixRecord) -> str:
    """Subject, the resolution's summary, the signature and the verdict's evidence."""
    subject = redact_text(f"Fix {record.job_name}: {record.signature}").splitlines()[0][:72]
    parts = [subject, ""]
    if record.summary:
        parts += [redact_text(record.summary), ""]
    parts += [f"Signature: {redact_text(record.signature)}", *evidence(record), "",
              f"Fix-Record: {record.id}", f"Failed-Job: {record.queue}#{record.job_id}"]
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class Prepared:
    """What delivering one fix produced."""

    review: Review
    patch: str  #: format-patch text ("" when git is missing)
    contents: dict[str, str]  #: path (relative to APP_ROOT_DIR) -> the content ``apply`` writes


async def deliver(settings: Settings, redis: aioredis.Redis, record: FixRecord, files: Mapping[str, str]) -> str:
    """Give a verified fix its branch, patch and review state (``record.review``); returns the patch.

    Never raises: a fix that cannot get a branch still gets a review, and the reason is on it.
    """
    try:
        prepared = await asyncio.to_thread(prepare, settings, record, files)
    except Exception as exc:  # the verdict stands whatever happens to the delivery
        log.warning("verified fix not delivered", fix_id=record.id, error=str(exc))
        why = exc.message if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        prepared = Prepared(_proposed(Review(no_branch=f"not delivered: {why}")), "", {})
    async with redis.pipeline(transaction=True) as pipe:
        if prepared.contents:
            pipe.hset(keys.fix_files(record.id), mapping=cast(Any, prepared.contents))
        if prepared.patch:
            pipe.set(keys.fix_patch(record.id), prepared.patch)
        await pipe.execute()
    record.review = prepared.review
    log.info("verified fix delivered", fix_id=record.id, branch=prepared.review.branch,
             no_branch=prepared.review.no_branch or None)
    return prepared.patch


def _proposed(review: Review) -> Review:
    """``review`` with its first step: proposed by SmartWorker, now."""
    review.steps.append(ReviewStep(ReviewState.PROPOSED, PROPOSER, int(time.time() * 1000)))
    return review


def prepare(settings: Settings, record: FixRecord, files: Mapping[str, str]) -> Prepared:
    """Branch (when in git) and patch for the verified ``files`` (new text by path under APP_ROOT_DIR)."""
    app_root = settings.app_root
    originals: dict[str, bytes | None] = {}
    for rel in files:
        path = checked_path(app_root, rel)
        originals[rel] = path.read_bytes() if path.is_file() else None
        # The verdict was given on the file as it was read then (as text); if it changed since,
        # the commit would carry someone else's edit under the fix's name.
        text = {rel: path.read_text(encoding="utf-8", errors="replace")} if originals[rel] is not None else {}
        if record.diff and unified_diff(text, {rel: files[rel]}) not in record.diff:
            raise DeliveryError(f"{rel} changed while the fix was being made")
    new = {rel: with_line_endings(originals[rel], text) for rel, text in files.items()}
    when = int(time.time())
    message = commit_message(record)
    repo, why = Repository.of(app_root)
    if repo is not None:
        try:
            return _in_git(repo, record, originals, new, message, identity(settings), when)
        except DeliveryError as exc:
            why = exc.message
    patch = ""
    try:
        patch = standalone_patch({rel: (originals[rel], new[rel]) for rel in new}, message, identity(settings), when)
    except DeliveryError as exc:
        why = f"{why}; no patch either: {exc.message}"
    touched = [TouchedFile(rel, sha256(originals[rel]), sha256(new[rel]) or "") for rel in new]
    return Prepared(_proposed(Review(files=touched, no_branch=why, patch=bool(patch))), patch,
                    {rel: content.decode("utf-8") for rel, content in new.items()})


def _in_git(repo: Repository, record: FixRecord, originals: Mapping[str, bytes | None],
            new: Mapping[str, bytes], message: str, author: Identity, when: int) -> Prepared:
    branch = branch_name(record.id)
    if repo.branch_exists(branch):
        raise DeliveryError(f"branch {branch} exists already")
    head = repo.head()
    committed: dict[str, bytes] = {}
    touched: list[TouchedFile] = []
    for rel, content in new.items():
        entry = repo.entry(head, repo.prefix + rel)
        at_head = entry[1] if entry else None
        if at_head != originals[rel]:
            # The file has uncommitted changes: carry only the fix's change onto HEAD's version.
            merged = merge_file(at_head or b"", originals[rel] or b"", content)
            if merged is None:
                raise DeliveryError(f"the fix overlaps uncommitted changes in {rel}")
            content = merged
        committed[rel] = content
        touched.append(TouchedFile(rel, sha256(at_head), sha256(content) or ""))
    commit = repo.commit(head, {repo.prefix + rel: c for rel, c in committed.items()}, message, author, when)
    repo.create_branch(branch, commit)
    patch = repo.format_patch(commit)
    review = _proposed(Review(files=touched, branch=branch, commit=commit, base_commit=head, patch=True))
    return Prepared(review, patch, {rel: c.decode("utf-8") for rel, c in committed.items()})
