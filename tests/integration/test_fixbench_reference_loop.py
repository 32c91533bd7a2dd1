"""The whole repair loop answered with each FixBench case's own reference fix: a scripted model over
real HTTP (bench/fixbench/reference_model.py), real bwrap, a private Redis, run as ``python -m
bench.fixbench --reference`` runs it.

A reference fix is correct (it passes its case's acceptance check), so a case the loop does not fix is
a correct fix some check turned down. The known ones are listed in bench/fixbench/known_rejections.py;
this test fails on any other, and on a listed one the loop now fixes (then its entry goes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import require

# bench/ is not an installed package; the repository root makes ``bench.fixbench`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fixbench.cases import SPLITS, load_cases, load_split
from bench.fixbench.known_rejections import KNOWN_REJECTIONS
from bench.fixbench.reference_model import run_references

from smartworker.config import load_settings
from smartworker.embedded import EmbeddedRedis
from smartworker.queues import Queues
from smartworker.sandbox.base import create_sandbox

CASES = load_cases()
SPLIT = load_split()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module's own: the loop writes fix records, which other tests list."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("history", ["on", "off"])
async def test_the_loop_fixes_every_reference_fix_but_the_known_rejections(history: str, private_redis: str,
                                                                             tmp_path: Path) -> None:
    require(os.path.exists("/usr/bin/bwrap"), "bwrap is not installed (apt-get install bubblewrap)")
    settings = load_settings(redis_url=private_redis, queue_name=f"fixbench-{history}", data_dir=tmp_path,
                             smtp_host=None, ai_candidates=1, ai_timeout_s=30.0)
    queues = Queues(settings, private_redis)
    sandbox = create_sandbox(settings)
    try:
        rows = await run_references(CASES, settings, queues, sandbox, history=history == "on", lanes=3)
    finally:
        await queues.close()
        await sandbox.close()  # its warm spare sessions
    turned_down = {row["case"]: row["reason"] for row in rows if row["verdict"] != "fixed"}
    assert not [row for row in rows if row["verdict"] == "false_fix"], "a reference fix failed its own acceptance"
    tally = {split: f"{sum(SPLIT[c] == split for c in turned_down)} of {sum(s == split for s in SPLIT.values())}"
             for split in SPLITS}
    print(f"history {history}: reference fixes turned down per split: {tally}")
    known = KNOWN_REJECTIONS[f"loop_history_{history}"]
    assert {case: turned_down[case] for case in sorted(set(turned_down) - set(known))} == {}, tally
    assert sorted(set(known) - set(turned_down)) == [], "the loop now fixes these: delete their entries"
