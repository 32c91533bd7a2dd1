"""The throw-away copy of the application tree a sandbox run works on.

The original tree is only read. The copy skips caches, VCS data and virtualenvs, refuses trees over a
size cap, keeps symlinks as links (never following one out of the tree), and takes the candidate's
changed files only at paths that stay inside it.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from smartworker.errors import SandboxError

#: Directory names never copied: caches, VCS data, virtualenvs and dependency trees.
SKIP_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
                       ".pytest_cache", ".ruff_cache", "node_modules", ".smartworker"})
SKIP_SUFFIXES = (".pyc", ".pyo")


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def copy_tree(src: Path, dst: Path, *, max_bytes: int, owner: tuple[int, int] | None = None) -> int:
    """Copy ``src`` into the existing directory ``dst``; return the bytes copied.

    ``owner`` (uid, gid) is given to every copied entry so an unprivileged sandbox user can write there.
    Raises SandboxError when the tree is larger than ``max_bytes``.
    """
    total = 0
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        here = Path(dirpath)
        target_dir = dst / here.relative_to(src)
        keep = []
        for name in sorted(dirnames):
            entry = here / name
            if name in SKIP_DIRS or (not entry.is_symlink() and _is_venv(entry)):
                continue
            if entry.is_symlink():  # os.walk lists links to directories here; copy them as links
                filenames.append(name)
                continue
            keep.append(name)
            (target_dir / name).mkdir(mode=0o755)
            if owner:
                os.chown(target_dir / name, *owner)
        dirnames[:] = keep
        for name in filenames:
            entry = here / name
            if name.endswith(SKIP_SUFFIXES):
                continue
            target = target_dir / name
            info = entry.lstat()
            if stat.S_ISLNK(info.st_mode):
                # Kept as a link: one pointing outside the tree dangles inside the sandbox instead of
                # leaking the host file it names.
                os.symlink(os.readlink(entry), target)
                if owner:
                    os.lchown(target, *owner)
                continue
            if not stat.S_ISREG(info.st_mode):
                continue  # sockets, fifos, devices
            total += info.st_size
            if total > max_bytes:
                raise SandboxError(
                    f"application tree {src} is over the {max_bytes // 2**20} MB sandbox copy cap")
            shutil.copyfile(entry, target, follow_symlinks=False)
            os.chmod(target, stat.S_IMODE(info.st_mode) | 0o600)
            if owner:
                os.chown(target, *owner)
    return total


def safe_target(root: Path, relpath: str) -> Path:
    """Where the changed file ``relpath`` goes under ``root``; SandboxError if it would land outside."""
    pure = PurePosixPath(relpath.replace("\\", "/"))
    if not relpath or pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise SandboxError(f"refusing changed file {relpath!r}: not a relative path inside the app root")
    target = root.joinpath(*pure.parts)
    # resolve() follows symlinks, so a link (in the tree or in the path) that leads out is caught here.
    resolved_root = root.resolve()
    if not target.resolve().is_relative_to(resolved_root):
        raise SandboxError(f"refusing changed file {relpath!r}: it resolves outside the app root")
    return target


def write_changes(root: Path, changed_files: Mapping[str, str], *,
                  owner: tuple[int, int] | None = None) -> None:
    """Write the candidate's files into the copy at ``root``."""
    for relpath, content in changed_files.items():
        target = safe_target(root, relpath)
        for parent in reversed(target.relative_to(root).parents):
            folder = root / parent
            if not folder.exists():
                folder.mkdir(mode=0o755)
                if owner:
                    os.chown(folder, *owner)
        target.write_text(content, encoding="utf-8")
        if owner:
            os.chown(target, *owner)


def empty_copy(parent: Path | None = None, *, owner: tuple[int, int] | None = None) -> Path:
    """A new, empty ``app`` directory in a new temporary directory (under ``parent`` when given).

    A warm sandbox session mounts it before the candidate is known; :func:`fill` fills it later.
    """
    copy = Path(tempfile.mkdtemp(prefix="smartworker-sandbox-", dir=parent)) / "app"
    try:
        copy.mkdir(mode=0o755)
        if owner:
            os.chown(copy, *owner)
    except BaseException:
        remove(copy)
        raise
    return copy


def fill(copy: Path, app_root: Path, changed_files: Mapping[str, str], *, max_bytes: int,
         owner: tuple[int, int] | None = None) -> None:
    """Copy ``app_root`` into the empty ``copy`` and apply ``changed_files``."""
    if not app_root.is_dir():
        raise SandboxError(f"application root {app_root} is not a directory")
    copy_tree(app_root, copy, max_bytes=max_bytes, owner=owner)
    write_changes(copy, changed_files, owner=owner)


def prepare(app_root: Path, changed_files: Mapping[str, str], *, max_bytes: int,
            owner: tuple[int, int] | None = None, parent: Path | None = None) -> Path:
    """A fresh copy of ``app_root`` with ``changed_files`` applied, in a new temporary directory
    (under ``parent`` when given).

    Give the returned path to :func:`remove` when done; on failure nothing is left behind.
    """
    if not app_root.is_dir():
        raise SandboxError(f"application root {app_root} is not a directory")
    copy = empty_copy(parent, owner=owner)
    try:
        fill(copy, app_root, changed_files, max_bytes=max_bytes, owner=owner)
    except BaseException:
        remove(copy)
        raise
    return copy


def remove(copy: Path) -> None:
    """Delete a copy made by :func:`prepare` (and its temporary parent)."""
    base = copy.parent
    # The sandbox may have left read-only directories behind; the error hook makes them writable.
    if sys.version_info >= (3, 12):
        shutil.rmtree(base, onexc=_force_remove)
    else:
        shutil.rmtree(base, onerror=_force_remove)


def _force_remove(func: object, path: str, exc: object) -> None:
    try:
        os.chmod(os.path.dirname(path), 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass  # best effort: a leftover temp directory is not worth failing a verdict for
