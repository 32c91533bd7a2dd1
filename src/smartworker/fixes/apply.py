"""Writing a verified fix into APP_ROOT_DIR's working tree, only over files that are clean (in git)
and byte for byte what the fix was made against; otherwise a one-line refusal naming the file.

In a git repository this puts the fix branch's change into the working tree (as ``git cherry-pick
--no-commit`` would, but without touching the index): the person who applied it reviews ``git diff``
and commits it, or merges the branch instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Mapping
from importlib.util import cache_from_source
from pathlib import Path

import redis.asyncio as aioredis

from smartworker import keys
from smartworker.errors import ApplyRefusedError, DeliveryError
from smartworker.fixes.delivery import checked_path
from smartworker.fixes.git import Repository, sha256
from smartworker.reasoning.records import Review


async def apply_fix(app_root: Path, redis: aioredis.Redis, fix_id: str, review: Review) -> list[str]:
    """Write the fix's files; returns their paths. ApplyRefusedError (one line) when it may not."""
    contents = {str(k): str(v) for k, v in (await redis.hgetall(keys.fix_files(fix_id))).items()}
    return await asyncio.to_thread(write_fix, app_root, review, contents)


def write_fix(app_root: Path, review: Review, contents: Mapping[str, str]) -> list[str]:
    """Check every touched file, then write them all (undoing the ones written if one write fails)."""
    if not review.files:
        raise ApplyRefusedError(f"apply refused: the fix has no files to apply ({review.no_branch or 'none recorded'})")
    targets: list[tuple[Path, bytes | None, bytes]] = []
    for touched in review.files:
        try:
            path = checked_path(app_root, touched.path)
        except DeliveryError as exc:
            raise ApplyRefusedError(f"apply refused: {exc.message}") from None
        stored = contents.get(touched.path)
        new = stored.encode("utf-8") if stored is not None else None
        if new is None or sha256(new) != touched.new:
            raise ApplyRefusedError(f"apply refused: the fixed content of {touched.path} is no longer stored")
        current = path.read_bytes() if path.is_file() else None
        targets.append((path, current, new))
    # A file that already holds the fix (applied before a crash, or by the person with git am)
    # is left as it is; every other one must be clean and what the fix was made against.
    pending = [(f, t) for f, t in zip(review.files, targets, strict=True) if sha256(t[1]) != f.new]
    repo, _ = Repository.of(app_root)
    if repo is not None and pending:
        dirty = repo.dirty([repo.prefix + f.path for f, _ in pending])
        if dirty:
            shown = dirty[0].removeprefix(repo.prefix)
            raise ApplyRefusedError(f"apply refused: {shown} has uncommitted changes; commit or stash them first")
    for touched, (_, current, _) in pending:
        if sha256(current) != touched.base:
            raise ApplyRefusedError(f"apply refused: {touched.path} changed since the fix was made")
    targets = [target for _, target in pending]
    written: list[tuple[Path, bytes | None]] = []
    try:
        for path, current, new in targets:
            _replace(path, new)
            written.append((path, current))
    except OSError as exc:
        for path, before in reversed(written):
            with contextlib.suppress(OSError):
                _restore(path, before)
        raise DeliveryError(f"apply failed, nothing changed: {exc}") from exc
    for path, _, _ in targets:
        _drop_bytecode(path)
    return [f.path for f in review.files]


def _replace(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically (temporary file + rename), keeping its mode."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".sw", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _restore(path: Path, before: bytes | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
    else:
        _replace(path, before)


def _drop_bytecode(path: Path) -> None:
    """Remove cached bytecode of a rewritten module: its timestamp has one-second resolution, so a
    change within the same second and of the same size could otherwise load the old code."""
    if path.suffix != ".py":
        return
    cached = Path(cache_from_source(str(path)))
    for stale in cached.parent.glob(f"{path.stem}.*.pyc"):
        with contextlib.suppress(OSError):
            stale.unlink()
