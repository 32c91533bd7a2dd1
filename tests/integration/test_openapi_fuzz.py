"""schemathesis over every operation of the published /openapi.json, against `smartworker up` with
real Redis and PostgreSQL: valid and invalid requests, then linked sequences; no answer may be a
5xx, and every answer must match the published schema (status, content type, body, headers).
"""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from psycopg.conninfo import conninfo_to_dict
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.faults.conftest import start_smartworker
from tests.integration.conftest import fresh_database

from smartworker.memory.database import EmbeddedPostgres

#: Examples per operation and generation mode: enough to hit every parameter's bounds, small enough
#: for CI (about 17 operations x 2 modes).
EXAMPLES = 20
ADMIN_KEY = "schemathesis-admin-key-0123456789"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture(scope="module")
def api(embedded_pg: EmbeddedPostgres, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`smartworker up` on real Redis and a fresh PostgreSQL database, once for this module; its base URL."""
    procs: list[subprocess.Popen[str]] = []
    queue_name = f"t{uuid.uuid4().hex[:10]}"
    tmp_path = tmp_path_factory.mktemp("fuzz")
    with fresh_database(embedded_pg) as conninfo:
        parts = conninfo_to_dict(conninfo)
        dsn = f"postgresql://{parts['user']}@/{parts['dbname']}?host={quote(str(parts['host']), safe='')}"
        try:
            _, base = start_smartworker("up", {
                "REDIS_URL": redis_url, "APP_QUEUE_NAME": queue_name, "DATABASE_URL": dsn,
                "APP_DATA_DIR": str(tmp_path / "data"), "APP_API_KEY": ADMIN_KEY, "NODE_ENV": "test",
                "APP_MAX_BODY_BYTES": "65536"}, procs, tmp_path / "up.log")
            yield base
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)


def test_every_operation_conforms(api: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                sent[case.operation.label] += 1
                case.call_and_validate(base_url=api, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                                       checks=CHECKS, timeout=30)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing can be invalid in a call with no input
            except (Exception, BaseExceptionGroup) as exc:
                failures[f"{operation.label} ({mode})"] = str(exc)[:2000]
    print(f"schemathesis: {sum(sent.values())} requests over {len(sent)} operations: {dict(sent)}")
    assert len(sent) >= 15
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_linked_sequences_conform(api: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    machine = schema.as_state_machine()
    steps: Counter[str] = Counter()

    class Machine(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            steps[case.operation.label] += 1
            return {"base_url": api, "headers": {"Authorization": f"Bearer {ADMIN_KEY}"}, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Machine.run(settings=settings(max_examples=30, stateful_step_count=6, deadline=None, database=None,
                                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                                  suppress_health_check=list(HealthCheck)))
    print(f"schemathesis stateful: {sum(steps.values())} requests: {dict(steps)}")
    assert sum(steps.values()) > 0
