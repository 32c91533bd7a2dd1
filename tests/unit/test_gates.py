"""The ordered gate list: every gate has a policy and a reason for it; a veto stops the list, an
inform is recorded and the candidate goes on."""

from __future__ import annotations

from typing import cast

from smartworker.reasoning.gates import GATES, Gate, Passed, Policy, Rejection, Trial, judge
from smartworker.reasoning.records import informed


def test_every_gate_is_named_once_with_its_policy_and_why() -> None:
    names = [gate.name for gate in GATES]
    assert len(set(names)) == len(names) and names[0] == "reply" and names[-1] == "contract review"
    assert all(gate.why for gate in GATES)
    # Weak evidence informs: a few earlier results, a small model's judgement, a dropped call, a
    # key a docstring names. A failure the sandbox shows vetoes.
    assert {g.name for g in GATES if g.policy is Policy.INFORM} == {
        "dropped call", "ignored input", "replay answers", "result shape", "contract review"}
    assert {"failing data", "variants", "replays", "hidden error"} <= {g.name for g in GATES
                                                                       if g.policy is Policy.VETO}


def _gate(name: str, policy: Policy, answer: Rejection | Passed) -> Gate:
    async def check(trial: Trial) -> Rejection | Passed:
        return answer
    return Gate(name, policy, "test", check)


async def test_a_veto_stops_the_list_and_an_inform_does_not() -> None:
    gates = (_gate("a", Policy.INFORM, Rejection("a", "looks odd", {"x": 1})),
             _gate("b", Policy.VETO, Passed("fine")),
             _gate("c", Policy.VETO, Rejection("c", "still fails", details="Traceback")),
             _gate("d", Policy.INFORM, Passed()))
    rows, veto = await judge(cast(Trial, None), gates)
    assert veto is not None and veto.gate == "c" and veto.details == "Traceback"
    assert [(r["name"], r["policy"], r["outcome"]) for r in rows] == [
        ("a", "inform", "failed"), ("b", "veto", "passed"), ("c", "veto", "failed"), ("d", "inform", "not run")]
    assert rows[0]["evidence"] == {"x": 1} and informed(rows) == ["a: looks odd"]


async def test_only_informs_saying_no_leave_the_candidate_standing() -> None:
    gates = (_gate("a", Policy.VETO, Passed()), _gate("b", Policy.INFORM, Rejection("b", "shape differs")),
             _gate("c", Policy.INFORM, Passed(skipped=True)))
    rows, veto = await judge(cast(Trial, None), gates)
    assert veto is None and [r["outcome"] for r in rows] == ["passed", "failed", "skipped"]
