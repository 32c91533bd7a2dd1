"""``up`` restarts a local model server that died, with backoff, and says so.

A small real HTTP server stands in for llama.cpp's (the bundled model needs 1.1 GB of parts): the
supervisor launches it as a child process, it is killed with SIGKILL, and a new one must answer.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import httpx
from structlog.testing import capture_logs
from tests.e2e.conftest import free_port

from smartworker.reasoning.local_model import LocalServer, server_url
from smartworker.runner import LocalModel

HEALTH_SERVER = """
import http.server, sys
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


async def test_a_model_server_that_dies_is_restarted_with_backoff_and_said_so() -> None:
    port = free_port()
    url = server_url("127.0.0.1", port)
    launched: list[subprocess.Popen[bytes]] = []

    def launch() -> LocalServer:
        process = subprocess.Popen([sys.executable, "-c", HEALTH_SERVER, str(port)], start_new_session=True)
        launched.append(process)
        return LocalServer(process=process, url=url, log_path=None)

    model = LocalModel(launch, url, ready_timeout=30)
    try:
        with capture_logs() as logs:
            endpoint = model.start()
            assert endpoint.ready is not None
            await asyncio.wait_for(asyncio.shield(endpoint.ready), 30)
            assert model.state() == "ready"

            launched[0].send_signal(signal.SIGKILL)
            for _ in range(200):
                if any(e["event"] == "local model server restarted" for e in logs):
                    break
                await asyncio.sleep(0.1)
            async with httpx.AsyncClient() as client:
                assert (await client.get(url + "/health")).status_code == 200
        assert len(launched) == 2 and model.restarts == 1, "the dead server was not started again"
        died = next(e for e in logs if e["event"] == "local model server died; restarting")
        assert died["exit_code"] == -signal.SIGKILL and died["in_s"] > 0  # after a pause, not at once
        assert any(e["event"] == "local model server restarted" for e in logs)
    finally:
        await model.stop()
        for process in launched:
            if process.poll() is None:
                process.kill()
            process.wait()
