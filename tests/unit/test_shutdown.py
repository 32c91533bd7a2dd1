"""Bounded shutdown steps: a stuck or failing step is named and passed over, and the process exits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time

import pytest

from smartworker.shutdown import Shutdown, in_daemon_thread


async def test_a_stuck_step_is_left_behind_and_the_next_one_runs() -> None:
    shutdown = Shutdown()
    ran: list[str] = []

    async def later() -> None:
        ran.append("later")

    assert not await shutdown.step("stuck", asyncio.sleep(60), timeout=0.2)
    assert await shutdown.step("later", later())
    assert ran == ["later"]
    assert shutdown.failed == ["stuck"]
    assert 0.2 <= shutdown.seconds["stuck"] < 5
    assert set(shutdown.seconds) == {"stuck", "later"}


async def test_a_failing_step_is_named_and_does_not_stop_the_others() -> None:
    shutdown = Shutdown()

    async def broken() -> None:
        raise ConnectionError("gone")

    assert not await shutdown.step("broken", broken())
    assert await shutdown.step("fine", asyncio.sleep(0))
    assert shutdown.failed == ["broken"]


async def test_an_unbounded_step_waits_as_long_as_it_takes() -> None:
    shutdown = Shutdown()
    assert await shutdown.step("worker", asyncio.sleep(0.3), timeout=None)
    assert shutdown.seconds["worker"] >= 0.3 and shutdown.failed == []


async def test_a_daemon_thread_call_returns_its_value_or_raises_its_error() -> None:
    assert await in_daemon_thread(lambda: 41 + 1) == 42

    def fails() -> None:
        raise OSError("pg_ctl failed")

    with pytest.raises(OSError, match="pg_ctl failed"):
        await in_daemon_thread(fails)


def test_a_blocking_stop_that_never_returns_does_not_hold_the_exit() -> None:
    # asyncio.to_thread would hold it: asyncio.run joins its executor's threads before returning.
    script = textwrap.dedent("""
        import asyncio, time
        from smartworker.shutdown import Shutdown, in_daemon_thread

        async def main():
            shutdown = Shutdown()
            await shutdown.step("stuck server", in_daemon_thread(lambda: time.sleep(120)), timeout=0.2)
            print("failed:", shutdown.failed, flush=True)

        asyncio.run(main())
    """)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "failed: ['stuck server']" in done.stdout
    assert time.monotonic() - started < 30


def test_a_stop_that_returns_after_the_loop_has_closed_is_quiet() -> None:
    script = textwrap.dedent("""
        import asyncio, time
        from smartworker.shutdown import Shutdown, in_daemon_thread

        async def main():
            await Shutdown().step("slow server", in_daemon_thread(lambda: time.sleep(1)), timeout=0.1)

        asyncio.run(main())
        time.sleep(2)  # the thread finishes while the process still runs, with its loop closed
        print("exited", flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "exited" in done.stdout
    assert "Traceback" not in done.stderr and "Event loop is closed" not in done.stderr, done.stderr
