"""The sandbox's copy of the app tree: what is copied, where changed files may land, clean-up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartworker.errors import SandboxError
from smartworker.sandbox import workspace


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref\n")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "secret").write_text("host only\n")
    os.symlink(tmp_path / "secret", root / "pkg" / "escape")
    return root


def test_copy_skips_caches_and_keeps_links_as_links(tree: Path) -> None:
    copy = workspace.prepare(tree, {}, max_bytes=2**20)
    try:
        assert (copy / "pkg" / "mod.py").read_text() == "X = 1\n"
        assert not (copy / "pkg" / "__pycache__").exists()
        assert not (copy / ".git").exists()
        assert not (copy / "env").exists()
        assert (copy / "pkg" / "escape").is_symlink()
    finally:
        workspace.remove(copy)
    assert not copy.parent.exists()


def test_changed_files_are_written_into_the_copy_only(tree: Path) -> None:
    copy = workspace.prepare(tree, {"pkg/mod.py": "X = 2\n", "pkg/new/deep.py": "Y = 1\n"}, max_bytes=2**20)
    try:
        assert (copy / "pkg" / "mod.py").read_text() == "X = 2\n"
        assert (copy / "pkg" / "new" / "deep.py").read_text() == "Y = 1\n"
    finally:
        workspace.remove(copy)
    assert (tree / "pkg" / "mod.py").read_text() == "X = 1\n"


@pytest.mark.parametrize("relpath", ["/etc/passwd", "../outside.py", "pkg/../../outside.py", "", ".",
                                     "pkg/escape"])
def test_paths_outside_the_copy_are_refused(tree: Path, relpath: str) -> None:
    with pytest.raises(SandboxError, match="refusing changed file"):
        workspace.prepare(tree, {relpath: "pwned\n"}, max_bytes=2**20)
    assert (tree.parent / "secret").read_text() == "host only\n"


def test_tree_over_the_cap_is_refused_and_nothing_is_left(tree: Path, tmp_path: Path) -> None:
    (tree / "big.bin").write_bytes(b"\0" * 4096)
    with pytest.raises(SandboxError, match="copy cap"):
        workspace.prepare(tree, {}, max_bytes=1024)


def test_read_only_leftovers_are_removed(tree: Path) -> None:
    copy = workspace.prepare(tree, {}, max_bytes=2**20)
    locked = copy / "locked"
    locked.mkdir()
    (locked / "f").write_text("x")
    locked.chmod(0o500)
    workspace.remove(copy)
    assert not copy.parent.exists()
