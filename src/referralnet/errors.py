"""Domain exceptions and their one mapping to HTTP responses.

Services raise these; ``exception_handlers`` turns them into JSON bodies of the
form ``{"status_code": n, "detail": "...", "extra": [{"key": field, "message": ...}]}``,
the same shape Litestar uses for its own validation errors, so clients parse one format.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap


class DomainError(Exception):
    """Base of all errors a service may raise on purpose."""

    status_code = 400

    def __init__(self, detail: str, *, field: str | None = None, extra: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or ([{"key": field, "message": detail}] if field else [])


class InvalidInput(DomainError):
    """A value is well-formed JSON but not acceptable (unknown code, out of range)."""

    status_code = 422


class PrivacyViolation(InvalidInput):
    """A text field holds something that looks like a personal identifier.

    The message names the field and the kind of identifier and never echoes the value.
    """

    def __init__(self, field: str, kind: str) -> None:
        super().__init__(f"{field} appears to contain a {kind}; remove personal identifiers", field=field)
        self.kind = kind
        self.extra = [{"key": field, "message": f"contains a {kind}", "kind": kind}]


class BadParameter(DomainError):
    """A query or path parameter that parses but names nothing known (unknown region, empty period)."""

    status_code = 400


class BadLink(DomainError):
    """A one-click link that was altered, is for another action, or has expired."""

    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Unauthenticated(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    """The request is valid but the object's state does not allow it (expired offer, taken place)."""

    status_code = 409


def _body(status: int, detail: str, extra: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if extra:
        body["extra"] = extra
    return body


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return Response(
        _body(exc.status_code, exc.detail, exc.extra),
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


_FIELD_IN_MESSAGE = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _name_field(item: Any) -> Any:
    """msgspec reports an unknown or missing key against its parent object (Litestar: "data");
    point ``key`` at the field itself, e.g. ``eligibility.genderz``."""
    if not isinstance(item, dict) or not isinstance(item.get("message"), str):
        return item
    match = _FIELD_IN_MESSAGE.search(item["message"])
    if match:
        parent = item.get("key")
        item = {**item, "key": match.group(1) if parent in (None, "data", "") else f"{parent}.{match.group(1)}"}
    return item


def validation_error_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Request validation errors, each naming its field in ``extra[].key``.

    A well-formed JSON body with a wrong value is 422 (unprocessable); a bad query or path
    parameter is 400. Malformed JSON never reaches here: Litestar answers it with 400 itself.
    """
    extra = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if exc.extra else [])
    extra = [_name_field(item) for item in extra]
    for i, item in enumerate(extra):
        if isinstance(item, dict) and item.get("key") == "data":
            # Litestar names the whole body "data"; "'data'" is its message for a missing body.
            message = "a JSON body is required" if item.get("message") == "'data'" else item.get("message")
            extra[i] = {**item, "key": "body", "message": message}
    from_body = bool(extra) and all(isinstance(i, dict) and i.get("source") == "body" for i in extra)
    status = 422 if from_body else 400
    return Response(_body(status, exc.detail, extra or None), status_code=status, media_type=MediaType.JSON)


exception_handlers: ExceptionHandlersMap = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
}

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "HTTPException",
    "InvalidInput",
    "NotFound",
    "PrivacyViolation",
    "Unauthenticated",
    "exception_handlers",
]
