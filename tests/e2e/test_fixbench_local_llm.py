"""FixBench end to end with the real local model: ``pytest -m local_llm`` (skipped without the model).

The whole pipeline a user gets from ``make bench-fix``: the bundled model served by xllamacpp,
context, LLM, bwrap sandbox verdict, then the case's hidden acceptance check. CI does not carry the
1.1 GB model, so this runs only where ``smartworker llm pull`` works.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartworker.reasoning import local_model

from .conftest import ROOT, clean_env, free_port

#: A case the 1.5B model fixed in every recorded run (docs/benchmarks.md): an integer index from `/`.
CASE = "median_price_true_division"


@pytest.mark.local_llm
@pytest.mark.skipif(not local_model.installed("1.5b"), reason="the 1.5B model parts or xllamacpp are not installed")
def test_a_fixbench_case_is_really_fixed_by_the_local_model(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    env = clean_env(APP_DATA_DIR=str(tmp_path / "data"), AI_LOCAL_LLM_PORT=str(free_port()), AI_TIMEOUT="600")
    done = subprocess.run([sys.executable, "-m", "bench.fixbench", "--case", CASE, "--candidates", "2",
                           "--no-memory", "--json", str(out)], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(out.read_text())
    [row] = report["rows"]
    # "fixed" means the sandbox verdict said so AND the hidden acceptance inputs all passed.
    assert row["verdict"] == "fixed", row
    assert row["diff"].startswith("--- a/pricing/__init__.py")
    assert report["summary"]["false_fixes"] == 0
