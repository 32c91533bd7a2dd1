"""Parsing and validating proposed edits: reply shapes, path safety, splicing, unchanged replies."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartworker.errors import ProposalRejectedError, UnchangedProposalError
from smartworker.reasoning.edits import (
    FileBlock,
    check_path,
    merge_python,
    parse_reply,
    splice_function,
    unified_diff,
    validate,
)

SETTINGS = settings(max_examples=300, deadline=None)

LOGIN = '''"""Demo login handler."""

import hashlib
import hmac

USERS = {
    "alice@example.com": hashlib.sha256(b"wonderland").hexdigest(),
}


def normalise_email(email):
    return email.strip().lower()


@staticmethod
def unused():
    return 1


class Checker:
    def check(self, a, b):
        return hmac.compare_digest(a, b)

    def other(self):
        return 2


def handle(data):
    email = normalise_email(data.get("email"))
    digest = hashlib.sha256(data["password"].encode()).hexdigest()
    return {"user": email, "ok": Checker().check(USERS.get(email, ""), digest)}
'''

FIXED_HANDLE = """def handle(data):
    email = normalise_email(data.get("email") or "")
    password = data.get("password")
    if password is None:
        return {"user": email, "ok": False}
    digest = hashlib.sha256(password.encode()).hexdigest()
    return {"user": email, "ok": Checker().check(USERS.get(email, ""), digest)}
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "swdemo").mkdir(parents=True)
    (root / "swdemo" / "login.py").write_text(LOGIN)
    (root / "swdemo" / "users.json").write_text('{"a": 1}\n')
    return root


# -- parse_reply -----------------------------------------------------------------------------------


def test_fenced_with_header_inside() -> None:
    reply = f"Here is the fix.\n\n```python\n# File: swdemo/login.py\n{FIXED_HANDLE}```\nDone."
    assert parse_reply(reply) == [FileBlock("swdemo/login.py", FIXED_HANDLE)]


def test_fenced_with_header_before_and_several_fences() -> None:
    reply = (
        "Changes:\n\n# File: swdemo/login.py\n```py\nx = 1\n```\n\n**File: `swdemo/b.py`**\n```\ny = 2\n```\n"
        "Example:\n```python\nhandle({})\n```\n"
    )
    assert parse_reply(reply) == [FileBlock("swdemo/login.py", "x = 1\n"), FileBlock("swdemo/b.py", "y = 2\n")]


def test_unfenced_blocks() -> None:
    reply = "Sure.\n# File: a.py\nimport os\n\nprint(os)\n# File: pkg/b.py\nz = 3\n"
    assert parse_reply(reply) == [FileBlock("a.py", "import os\n\nprint(os)\n"), FileBlock("pkg/b.py", "z = 3\n")]


def test_two_files_in_one_fence_and_unterminated_fence() -> None:
    reply = "```python\n# File: a.py\nx = 1\n# File: b.py\ny = 2\n"
    assert parse_reply(reply) == [FileBlock("a.py", "x = 1\n"), FileBlock("b.py", "y = 2\n")]


@pytest.mark.parametrize(
    "reply",
    [
        json.dumps("# File: a.py\nx = 1\n"),
        json.dumps({"path": "a.py", "content": "x = 1\n"}),
        json.dumps({"files": [{"path": "a.py", "content": "x = 1\n"}]}),
        json.dumps({"files": {"a.py": "x = 1\n"}}),
        json.dumps({"content": "```python\n# File: a.py\nx = 1\n```"}),
        json.dumps({"choices": [{"message": {"content": "# File: a.py\nx = 1\n"}}]}),
        "# File: a.py\\nx = 1\\n",
        "Here you go: " + json.dumps({"files": [{"path": "a.py", "content": "x = 1\n"}]}),
        json.dumps(json.dumps("# File: a.py\nx = 1\n")),
    ],
)
def test_json_escaped_replies(reply: str) -> None:
    assert parse_reply(reply) == [FileBlock("a.py", "x = 1\n")]


def test_literal_newlines_in_code_are_not_unescaped() -> None:
    reply = '# File: a.py\ntext = "\\n".join(lines)\nother = "a\\nb"\n'
    assert parse_reply(reply) == [FileBlock("a.py", 'text = "\\n".join(lines)\nother = "a\\nb"\n')]


def test_default_path_for_a_headerless_single_fence() -> None:
    reply = f"```python\n{FIXED_HANDLE}```"
    assert parse_reply(reply) == []
    assert parse_reply(reply, default_path="swdemo/login.py") == [FileBlock("swdemo/login.py", FIXED_HANDLE)]
    assert parse_reply(FIXED_HANDLE, default_path="x.py") == [FileBlock("x.py", FIXED_HANDLE)]


def test_copied_snippet_numbering_is_removed() -> None:
    reply = "# File: a.py\n    17 | def f():\n>>> 18 |     return 1\n"
    assert parse_reply(reply) == [FileBlock("a.py", "def f():\n    return 1\n")]


@pytest.mark.parametrize("reply", ["", "I cannot help with that.", "```\n```", "{}", "[1, 2]", '"just text"', "{{{"])
def test_garbage_gives_no_blocks(reply: str) -> None:
    assert parse_reply(reply) == []


@SETTINGS
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.sampled_from(["# File: a.py\n", "```", "python\n", "{", '"', "\\n", "x = 1\n", "}"]), max_size=30
        ).map("".join),
    )
)
def test_parse_reply_never_raises(text: str) -> None:
    blocks = parse_reply(text)
    assert all(isinstance(b, FileBlock) for b in blocks)


# -- paths -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd.py", "absolute"),
        ("C:/x.py", "absolute"),
        ("~/x.py", "absolute"),
        ("../x.py", "'..'"),
        ("swdemo/../../x.py", "'..'"),
        ("swdemo\\x.py", "backslash"),
        (".git/hooks/pre-commit.py", "hidden"),
        (".github/workflows/ci.yml", "hidden"),
        ("run.sh", "type"),
        ("site.pth", "type"),
        ("Makefile", "type"),
        ("", "usable"),
        ("swdemo", "type"),
    ],
)
def test_bad_paths(app: Path, path: str, why: str) -> None:
    with pytest.raises(ProposalRejectedError, match=why):
        check_path(path, app)


def test_symlink_escape_is_rejected(app: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("x = 1\n")
    os.symlink(outside, app / "linkdir")
    os.symlink(outside / "target.py", app / "link.py")
    os.symlink(tmp_path / "nowhere.py", app / "dangling.py")
    for path in ("linkdir/target.py", "link.py", "linkdir/new.py", "dangling.py"):
        with pytest.raises(ProposalRejectedError, match="outside the app root"):
            validate([FileBlock(path, "x = 2\n")], app)
    assert (outside / "target.py").read_text() == "x = 1\n"


def test_sibling_prefix_is_outside(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (tmp_path / "app2").mkdir()
    os.symlink(tmp_path / "app2", root / "two")
    with pytest.raises(ProposalRejectedError, match="outside"):
        check_path("two/x.py", root)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["..", ".", "a", "b.py", "/", "//", "x.py", "link", "~", "C:", "\\"]), min_size=1, max_size=6
    ).map("/".join)
)
def test_validate_never_accepts_a_path_outside(tmp_path_factory: pytest.TempPathFactory, path: str) -> None:
    base = tmp_path_factory.getbasetemp() / "prop"
    root = base / "app"
    if not root.exists():
        root.mkdir(parents=True)
        (base / "out").mkdir()
        os.symlink(base / "out", root / "link")
    try:
        proposal = validate([FileBlock(path, "x = 1\n")], root)
    except ProposalRejectedError:
        return
    for rel in proposal.files:
        assert (root / rel).resolve().is_relative_to(root.resolve())


# -- validate --------------------------------------------------------------------------------------


def test_truncated_single_function_is_spliced(app: Path) -> None:
    reply = f"```python\n# File: swdemo/login.py\nimport logging\n\n{FIXED_HANDLE}```"
    proposal = validate(parse_reply(reply), app, {"swdemo/login.py": LOGIN})
    new = proposal.files["swdemo/login.py"]
    ast.parse(new)
    for survivor in (
        '"""Demo login handler."""',
        "USERS = {",
        "def normalise_email",
        "@staticmethod",
        "class Checker:",
        "def other(self):",
        "import hmac",
    ):
        assert survivor in new
    assert 'password = data.get("password")' in new
    assert 'data["password"]' not in new
    assert "import logging\n" in new and new.index("import logging") < new.index("USERS")
    assert proposal.changed_paths == ["swdemo/login.py"]
    assert any("partial reply" in note for note in proposal.notes)
    diff = proposal.diff()
    assert diff.startswith("--- a/swdemo/login.py\n+++ b/swdemo/login.py\n")
    assert '+    password = data.get("password")\n' in diff


def test_whole_file_replaces(app: Path) -> None:
    new = LOGIN.replace('data["password"]', 'data.get("password", "")')
    proposal = validate([FileBlock("swdemo/login.py", new)], app)  # original read from disk
    assert proposal.files == {"swdemo/login.py": new}
    assert proposal.notes == []


def test_unchanged_is_rejected(app: Path) -> None:
    with pytest.raises(UnchangedProposalError, match=r"^unchanged"):
        validate([FileBlock("swdemo/login.py", LOGIN.replace("\n", "   \n") + "\n\n")], app)
    # one function returned exactly as it was is unchanged too
    handle = LOGIN[LOGIN.index("def handle") :]
    with pytest.raises(UnchangedProposalError):
        validate([FileBlock("swdemo/login.py", handle)], app)


def test_unchanged_files_are_dropped_from_a_mixed_proposal(app: Path) -> None:
    blocks = [FileBlock("swdemo/login.py", LOGIN), FileBlock("swdemo/new.py", "x = 1\n")]
    proposal = validate(blocks, app)
    assert proposal.files == {"swdemo/new.py": "x = 1\n"}
    assert proposal.changed_paths == ["swdemo/new.py"]
    assert proposal.diff().startswith("--- /dev/null\n+++ b/swdemo/new.py\n")


@pytest.mark.parametrize(
    ("blocks", "why"),
    [
        ([], "no file blocks"),
        ([FileBlock("swdemo/login.py", "def handle(:\n")], "not valid Python"),
        ([FileBlock("swdemo/users.json", "{bad")], "not valid JSON"),
        ([FileBlock("swdemo/c.toml", "= x")], "not valid TOML"),
        ([FileBlock("swdemo/login.py", "   \n")], "empty"),
        ([FileBlock("swdemo/login.py", LOGIN.replace('b"wonderland"', "'[REDACTED]'"))], "placeholder"),
        ([FileBlock("swdemo/login.py", LOGIN + "# [truncated by SmartWorker: 10 more bytes]\n")], "truncated"),
    ],
)
def test_rejections(app: Path, blocks: list[FileBlock], why: str) -> None:
    with pytest.raises(ProposalRejectedError, match=why):
        validate(blocks, app)


def test_size_cap(app: Path) -> None:
    with pytest.raises(ProposalRejectedError, match="limit"):
        validate([FileBlock("swdemo/big.txt", "x" * 2000)], app, max_bytes=1000)
    assert validate([FileBlock("swdemo/big.txt", "x" * 900)], app, max_bytes=1000).files


def test_garbage_reply_is_rejected(app: Path) -> None:
    with pytest.raises(ProposalRejectedError, match="no file blocks"):
        validate(parse_reply("I am sorry, I cannot see the bug."), app)


def test_data_files_allowed(app: Path) -> None:
    proposal = validate([FileBlock("swdemo/users.json", '{"a": 2}\n')], app)
    assert proposal.files == {"swdemo/users.json": '{"a": 2}\n'}


# -- splicing --------------------------------------------------------------------------------------


def test_splice_function_keeps_the_rest() -> None:
    out = splice_function(LOGIN, FIXED_HANDLE, "handle")
    assert out == LOGIN[: LOGIN.index("def handle")] + FIXED_HANDLE


def test_splice_includes_decorators_and_appends_missing() -> None:
    out = splice_function(LOGIN, "@classmethod\ndef unused():\n    return 3\n", "unused")
    assert "@staticmethod" not in out and "@classmethod\ndef unused():\n    return 3\n" in out
    added = splice_function(LOGIN, "def extra():\n    return 4\n", "extra")
    assert added.startswith(LOGIN) and added.endswith("\n\n\ndef extra():\n    return 4\n")


def test_splice_method_by_dotted_name() -> None:
    method = "    def check(self, a, b):\n        return a == b\n"  # indented, as a model may send it
    out = splice_function(LOGIN, method, "Checker.check")
    assert "    def check(self, a, b):\n        return a == b\n\n    def other(self):" in out
    whole_class = "class Checker:\n    def check(self, a, b):\n        return False\n"
    out = splice_function(LOGIN, whole_class, "Checker.check")
    assert "return False" in out and "def other(self):" in out
    with pytest.raises(ProposalRejectedError):
        splice_function(LOGIN, method, "Missing.check")
    with pytest.raises(ProposalRejectedError):
        splice_function(LOGIN, "x = 1\n", "handle")


def test_merge_python_replaces_assignments_by_name() -> None:
    block = 'USERS = {"bob@example.com": "x"}\nLIMIT = 3\n\n' + FIXED_HANDLE
    out, notes = merge_python(LOGIN, block)
    assert 'USERS = {"bob@example.com": "x"}' in out and "alice" not in out
    assert out.index("LIMIT = 3") < out.index("def normalise_email")
    assert "replaced USERS" in notes and "added LIMIT" in notes
    ast.parse(out)


def test_unified_diff_paths() -> None:
    diff = unified_diff({"a.py": "x = 1\n"}, {"a.py": "x = 2", "b.py": "y = 1\n"})
    assert "--- a/a.py\n+++ b/a.py\n" in diff
    assert "+x = 2\n\\ No newline at end of file\n" in diff
    assert "--- /dev/null\n+++ b/b.py\n" in diff
    assert unified_diff({"a.py": "x"}, {"a.py": "x"}) == ""


def test_a_modules_only_function_returned_without_its_imports_is_spliced() -> None:
    original = ('"""Digest."""\nfrom smartworker import handler\n\n\n@handler("digest")\ndef digest(data):\n'
                '    return data["items"][1]\n')
    block = '@handler("digest")\ndef digest(data):\n    return data["items"][0]\n'
    merged, notes = merge_python(original, block)
    # Taken whole, the reply would drop the import its decorator needs.
    assert merged == original.replace('["items"][1]', '["items"][0]')
    assert notes[0] == "partial reply (omits imports); spliced by name"
    # A whole file that keeps the imports still replaces the original as written.
    whole = 'from smartworker import handler\n\n\n@handler("digest")\ndef digest(data):\n    return 0\n'
    assert merge_python(original, whole) == (whole, [])


def test_a_standard_module_used_but_not_imported_is_imported(app: Path) -> None:
    new = LOGIN.replace('    email = normalise_email(data.get("email"))\n',
                        '    if isinstance(data, str):\n        data = json.loads(data)\n'
                        '    email = normalise_email(data.get("email"))\n')
    proposal = validate([FileBlock("swdemo/login.py", new)], app)
    assert proposal.files["swdemo/login.py"] == new.replace("import hmac\n", "import hmac\nimport json\n")
    assert proposal.notes == ["swdemo/login.py: added import: json"]


def test_imports_are_not_guessed_for_bound_names_datetime_or_what_the_original_lacked() -> None:
    from smartworker.reasoning.edits import add_missing_imports
    bound = "import hashlib\n\n\ndef f(json):\n    return json.loads('1'), hashlib.sha256()\n"
    assert add_missing_imports(None, bound) == (bound, [])
    dated = "def f():\n    return datetime.now()\n"
    assert add_missing_imports(None, dated) == (dated, [])
    # The original's own missing import is not this candidate's doing: left as it was.
    broken = "def f(x):\n    return re.sub('a', 'b', x)\n"
    assert add_missing_imports(broken, broken.replace("x)", "x or '')")) == (broken.replace("x)", "x or '')"), [])
