"""Errors that carry a stable machine-readable code for clients."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the client can act on: `code` is stable, `message` is for people."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return error


class InvalidInput(DomainError):
    code = "invalid_payload"
    http_status = 422


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class Unauthorized(DomainError):
    code = "unauthorized"
    http_status = 401


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class IllegalTransition(Conflict):
    code = "illegal_transition"


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429
