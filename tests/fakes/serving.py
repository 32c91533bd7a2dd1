"""Serving a fake's ASGI app on a free loopback port in a thread, for the length of a test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def start(app: Any, port: int | None = None) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Start ``app`` on ``port`` (default: a free loopback port); returns its base URL, the server and
    its thread (set ``should_exit`` to stop)."""
    # Bound here and handed to uvicorn: a free port picked, closed and bound again later could be
    # taken in between by another server of the same run (seen with the corpus's parallel lanes).
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


@contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` served for the length of a ``with`` block; yields its base URL."""
    url, server, thread = start(app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(5)
