"""The published OpenAPI says what the app really answers: every error body our handlers write
(422 as ValidationFailed, the others as Message) on every route, whoever wrote the route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from smartworker.api.schemas import FieldError, Message, ValidationFailed

_UNSAFE = frozenset({"post", "put", "patch", "delete"})
_MESSAGE = {"$ref": "#/components/schemas/Message"}
_FAILED = {"$ref": "#/components/schemas/ValidationFailed"}

#: Errors any route may answer, and why.
_ANY_ROUTE = {"503": "Redis (or the memory database) is unavailable"}
_SECURED = {"401": "no API key, or an unknown or revoked one", "403": "the key's role does not allow this"}
#: OpenAPI links: where an answer's ids lead (clients and stateful testing follow them).
_LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/job", "post", "201"): {
        "GetJob": {"operationRef": "#/paths/~1jobs~1{job_id}/get", "parameters": {"path.job_id": "$response.body#/id"}},
    },
    ("/dlq", "get", "200"): {
        "RetryDeadJob": {"operationRef": "#/paths/~1dlq~1{dlq_id}~1retry/post",
                         "parameters": {"path.dlq_id": "$response.body#/jobs/0/id"}},
        "FixDeadJob": {"operationRef": "#/paths/~1dlq~1{dlq_id}~1fix/post",
                       "parameters": {"path.dlq_id": "$response.body#/jobs/0/id"}},
        "DeleteDeadJob": {"operationRef": "#/paths/~1dlq~1{dlq_id}/delete",
                          "parameters": {"path.dlq_id": "$response.body#/jobs/0/id"}},
        "GetDeadJob": {"operationRef": "#/paths/~1jobs~1{job_id}/get",
                       "parameters": {"path.job_id": "$response.body#/jobs/0/jobId"}},
    },
    ("/dlq/{dlq_id}/retry", "post", "201"): {
        "GetRetriedJob": {"operationRef": "#/paths/~1jobs~1{job_id}/get",
                          "parameters": {"path.job_id": "$response.body#/id"}},
    },
    ("/keys", "post", "201"): {
        "RevokeKey": {"operationRef": "#/paths/~1keys~1{key_id}/delete",
                      "parameters": {"path.key_id": "$response.body#/id"}},
    },
}
_CHANGING = {"403": "the key's role does not allow this, or a cross-site request",
             "413": "the body is larger than APP_MAX_BODY_BYTES", "415": "the body is not JSON"}


def published_errors(app: FastAPI) -> None:
    """Replace ``app.openapi`` by one that documents our error answers on every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _document(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(spec: dict[str, Any]) -> None:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Message, FieldError, ValidationFailed):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            wanted = dict(_ANY_ROUTE) if path != "/health" else {}
            if operation.get("security"):
                wanted.update(_SECURED)
            if method in _UNSAFE:
                wanted.update(_CHANGING)
            if operation.get("parameters") or operation.get("requestBody"):
                wanted["422"] = "a parameter or the body is invalid"
            if operation.get("requestBody"):
                wanted["400"] = "the body cannot be read (not UTF-8), or names no registered handler"
            for status, why in wanted.items():
                responses.setdefault(status, {"description": why})
            for status, response in responses.items():
                links = {k: v for k, v in _LINKS.get((path, method, status), {}).items()
                         if v["operationRef"].split("/")[2].replace("~1", "/") in spec["paths"]}
                if links:
                    response["links"] = links
                if status == "422":
                    response["content"] = {"application/json": {"schema": _FAILED}}
                elif status.startswith(("4", "5")):
                    response.setdefault("content", {"application/json": {"schema": _MESSAGE}})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
