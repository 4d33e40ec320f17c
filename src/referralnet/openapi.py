"""Error responses and public paths in the OpenAPI document, declared once for every operation.

Errors are mapped to HTTP in one place (``errors.py``); this documents that mapping, so clients and
schema-driven test tools know which codes each operation may answer without every handler repeating it.
"""

from __future__ import annotations

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import OpenAPI, OpenAPIResponse, Operation, Reference, Schema
from litestar.openapi.spec.media_type import OpenAPIMediaType

ERROR_SCHEMA = Schema(
    type="object",  # type: ignore[arg-type]
    required=["status_code", "detail"],
    properties={
        "status_code": Schema(type="integer"),  # type: ignore[arg-type]
        "detail": Schema(type="string"),  # type: ignore[arg-type]
        "extra": Schema(
            type="array",  # type: ignore[arg-type]
            items=Schema(
                type="object",  # type: ignore[arg-type]
                properties={"key": Schema(type="string"), "message": Schema(type="string")},  # type: ignore[arg-type]
                description="`key` names the field at fault",
            ),
        ),
    },
    description="Every error: the status, a message, and the fields at fault.",
)

WHY = {
    "400": "Malformed JSON, or a bad query or path parameter (the field is named)",
    "401": "No token, or an unknown or revoked token",
    "403": "The role or organisation may not do this",
    "404": "No such object, or one this caller may not know of",
    "409": "The object's state does not allow this (e.g. an offer that is no longer pending)",
    "422": "A well-formed body with an unacceptable value (unknown code, out of range, identifiers in text)",
}


def _codes(path: str, method: str, operation: Operation, public: bool) -> list[str]:
    codes = ["400"]
    if not public:
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    if method in ("post", "put", "patch", "delete"):
        codes.append("409")
    if operation.request_body is not None or "{" in path:
        codes.append("422")
    return codes


def document_errors(openapi: OpenAPI, public_prefixes: tuple[str, ...]) -> OpenAPI:
    """Add the error responses to every operation and drop the bearer requirement from public ones."""
    components = openapi.components
    components.schemas = {**(components.schemas or {}), "Error": ERROR_SCHEMA}
    ref = Reference(ref="#/components/schemas/Error")
    for path, item in (openapi.paths or {}).items():
        public = path.startswith(public_prefixes)
        for method in ("get", "post", "put", "patch", "delete"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            if public:
                operation.security = [{}]  # no credentials needed
            responses = dict(operation.responses or {})
            for code in _codes(path, method, operation, public):
                if code not in responses or code == "400":
                    responses[code] = OpenAPIResponse(
                        description=WHY[code], content={"application/json": OpenAPIMediaType(schema=ref)}
                    )
            operation.responses = responses
    return openapi


class _DocumentedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, post-processing the document each time it is (lazily) built."""

    __slots__ = ()
    public_prefixes: tuple[str, ...] = ()

    def _build_openapi(self) -> OpenAPI:
        return document_errors(super()._build_openapi(), self.public_prefixes)


def install(app: Litestar, public_prefixes: tuple[str, ...]) -> None:
    """Document the error responses in ``app``'s OpenAPI document, built on first use as before."""
    _DocumentedOpenAPIPlugin.public_prefixes = public_prefixes
    # The plugin is created by Litestar itself; same slots, so it can take the subclass in place.
    app.plugins.get(OpenAPIPlugin).__class__ = _DocumentedOpenAPIPlugin
