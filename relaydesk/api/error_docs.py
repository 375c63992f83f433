"""The error responses every REST route can give, in the OpenAPI schema, and the one
stray input error that used to be a 500.

Every `/api/` route sits behind the same dependencies and error handlers (`DomainError` →
`{"error": {...}}`, validation → 422 with the same envelope), so instead of repeating
`responses=` on ~80 routes, `install` adds the shared error responses to each of them in
the generated schema (a route's own declaration for a status wins). The schemathesis fuzz test
(tests/fuzz/test_openapi_fuzz.py) holds every response to this schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
ERRORS = {
    401: "Not signed in, or the token is invalid, expired or revoked",
    403: "Signed in, but not allowed to do this",
    404: "No such object (or not visible to this user)",
    409: "Conflicts with the object's current state",
    413: "The request body is too large",
    422: "The request is not valid",
    429: "Too many requests",
}


def add_to_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error responses to every `/api/` operation of an OpenAPI document
    (an operation's own declaration for a status wins), replacing FastAPI's default 422
    body, which is not the envelope our handler sends."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                default_422 = status == 422 and "HTTPValidationError" in str(
                    responses.get("422", "")
                )
                if str(status) not in responses or default_422:
                    responses[str(status)] = {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    }
    return schema


def install(api: FastAPI) -> None:
    """Document the shared errors on every `/api/` route (FastAPI's documented way to
    extend the generated schema: replace `app.openapi`) and turn out-of-range integers
    into a 422."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = add_to_schema(generate())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    @api.exception_handler(OverflowError)
    async def out_of_range(_: Request, exc: OverflowError) -> JSONResponse:
        # An id or count beyond 64 bits passes validation (Python ints are unbounded) and
        # only fails in the database driver; no such row can exist, so it is bad input.
        return JSONResponse(
            {"error": {"code": "invalid_payload", "message": "a number is out of range"}},
            status_code=422,
        )
