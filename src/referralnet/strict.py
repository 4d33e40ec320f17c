"""Strict types in request bodies: ``{"available": "3"}`` is a 422, never read as 3.

Litestar converts bodies leniently (strings to numbers and booleans). Before a handler runs, the
JSON body is decoded strictly into the handler's ``data`` type; where only the strict decoding
fails, the request is refused naming the field. A body that decodes is handed to Litestar as the
request's JSON, so it is decoded once (Litestar's signature model takes the value as it is).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, NamedTuple

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.utils.scope.state import ScopeState

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


@cache
def _decoders(annotation: Any) -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]]:
    return msgspec.json.Decoder(annotation, strict=True), msgspec.json.Decoder(annotation, strict=False)


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: refuse a JSON body whose values have the wrong JSON type."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    body = await request.body()
    if not body or "json" not in request.headers.get("content-type", "application/json"):
        return
    try:
        strict, lax = _decoders(field.annotation)
    except TypeError:  # not a type msgspec decodes
        return
    try:
        value = strict.decode(body)
    except msgspec.ValidationError as exc:
        try:
            lax.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return  # wrong in other ways too: Litestar's own validation reports it
        m = _AT.match(str(exc))
        assert m is not None
        key = (m.group("path") or "").lstrip(".") or "body"
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": f"{m.group('message')} (send the JSON type itself, not a string)", "key": key, "source": "body"}],
        ) from None
    except msgspec.DecodeError:
        return
    if getattr(field.kwarg_definition, "media_type", RequestEncodingType.JSON) == RequestEncodingType.JSON:
        # Litestar's JSON extractor reads this instead of decoding the body again into plain values.
        ScopeState.from_scope(request.scope).json = value


async def strict_request(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: :func:`known_query` (the API and the HSDS read API), then :func:`strict_json_body`."""
    known_query(request)
    await strict_json_body(request)


def known_query(request: Request[Any, Any, Any]) -> None:
    """Refuse an API (or HSDS read API) request with a query parameter its handler does not take (400 naming it and the nearest name):
    a mistyped filter (``countty=RO-IS``) would otherwise be ignored and answer with everything. FHIR's own general
    parameters (``_format``, ``_pretty``, ...) pass on FHIR paths, which answer in one format anyway."""
    path = request.url.path
    if not request.scope["query_string"] or not (path.startswith(("/api/", "/hsds/")) or path == "/hsds"):
        return
    names = request.app.state.get("query_names", {}).get(request.route_handler)
    if names is None:  # a handler the index does not know (none in this app): not checked
        return
    known = names.sent
    fhir = "/fhir" in request.url.path
    unknown = [name for name in request.query_params if name not in known and not (fhir and name.startswith("_"))]
    if unknown:
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": _unknown(name, known), "key": name, "source": "query"} for name in unknown],
        )


def _unknown(name: str, known: frozenset[str]) -> str:
    from rapidfuzz import fuzz, process

    best = process.extractOne(name, sorted(known), scorer=fuzz.ratio, score_cutoff=70)
    hint = f"did you mean {best[0]}? " if best else ""
    return f"unknown query parameter; {hint}this call takes: {', '.join(sorted(known)) or 'none'}"


class QueryNames(NamedTuple):
    """A handler's query parameters: as clients send them, and each Python name that differs (``start`` -> ``from``)."""

    sent: frozenset[str]
    as_sent: dict[str, str]


def query_names(app: Any) -> dict[Any, QueryNames]:
    """Each route handler's query parameters, its dependencies' included (Litestar's own kwargs model of the route:
    only what the handler uses), for :func:`known_query` and for errors naming a parameter as it was sent."""
    index = {}
    for route in app.routes:
        for handler, kwargs_model in getattr(route, "route_handler_map", {}).values():
            params = kwargs_model.expected_query_params
            index[handler] = QueryNames(
                frozenset(p.field_alias for p in params), {p.field_name: p.field_alias for p in params if p.field_name != p.field_alias}
            )
    return index
