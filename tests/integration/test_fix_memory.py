"""The memory learns from people: a rejected fix is stored with its reason (redacted), found again by
handler and signature, and takes back the resolution it had given; approving stores it again."""

from __future__ import annotations

from smartworker.memory.store import MemoryStore

from .memory_cases import BUGS, build


async def test_a_rejected_fix_is_kept_with_its_reason_and_unresolves_its_failure(store: MemoryStore) -> None:
    ctx = build(BUGS[0], 0, "job-1")
    fid = await store.remember_failure(ctx)
    diff = "-    email = data['email']\n+    email = data.get('email', 'nobody@example.com')\n"
    await store.remember_resolution(ctx.queue, ctx.job_id, "default the email", diff)
    fix = {"fix_id": "f1", "queue": ctx.queue, "job_id": ctx.job_id, "name": ctx.job_name,
           "signature": ctx.signature, "summary": "default the email", "diff": diff}
    await store.remember_rejection(fix, "Never invent an address (password=hunter2 was in the ticket)", "ada")

    found = await store.rejected_fixes(ctx.job_name, ctx.signature)
    assert len(found) == 1 and found[0].diff == diff and found[0].summary == "default the email"
    assert found[0].reason.startswith("Never invent an address") and "hunter2" not in found[0].reason
    assert not (await store.get_failure(fid)).resolved  # no longer offered as a past fix
    # Only that handler and signature see it; rejecting again replaces, never duplicates.
    assert await store.rejected_fixes("other-handler", ctx.signature) == []
    assert await store.rejected_fixes(ctx.job_name, ctx.signature + " (other)") == []
    await store.remember_rejection(fix, "Never invent an address.", "bob")
    assert [r.reason for r in await store.rejected_fixes(ctx.job_name, ctx.signature)] == [
        "Never invent an address."]
    # Another fix's rejection leaves a different resolution of the failure alone.
    await store.remember_resolution(ctx.queue, ctx.job_id, "read 'mail' too", "-a\n+b\n")
    await store.remember_rejection({**fix, "fix_id": "f2", "diff": "-x\n+y\n"}, "no", "ada")
    assert (await store.get_failure(fid)).resolved
