"""Domain exceptions and their one mapping to HTTP responses.

Services raise these; ``exception_handlers`` turns them into JSON bodies of the
form ``{"status_code": n, "detail": "...", "extra": [{"key": field, "message": ...}]}``,
the same shape Litestar uses for its own validation errors, so clients parse one format.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
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

    _HINTS = {"date of birth": "give the age band (age_band) instead", "street address": "give the county or locality instead"}

    def __init__(self, field: str, kind: str) -> None:
        hint = self._HINTS.get(kind, "remove personal identifiers")
        super().__init__(f"{field} appears to contain {_article(kind)} {kind}; {hint}", field=field)
        self.kind = kind
        self.extra = [{"key": field, "message": f"contains {_article(kind)} {kind}; {hint}", "kind": kind}]


def _article(noun: str) -> str:
    """ "an" before a vowel sound as written in our messages ("an e-mail address", "an IBAN")."""
    return "an" if noun[:1].lower() in "aeiou" else "a"


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


_Row = TypeVar("_Row")


def one(row: _Row | None, what: str) -> _Row:
    """``row`` (a ``.first()`` result) that a lock or an earlier check says exists; if it vanished
    meanwhile, a clear 404 naming ``what`` rather than a TypeError on indexing None."""
    if row is None:
        raise NotFound(f"{what} not found")
    return row


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


def _as_sent(item: Any, request: Request[Any, Any, Any] | None) -> Any:
    """A query parameter named as the client sends it (``from``), not as its Python parameter (``start``), by the
    route's index of its query names (``strict.query_names``)."""
    if not isinstance(item, dict) or item.get("source") != "query" or request is None or item.get("key") in request.query_params:
        return item  # (a key the client sent, e.g. an unknown ``start``, is named as sent already)
    names = request.app.state.get("query_names", {}).get(request.scope.get("route_handler"))
    alias = names.as_sent.get(str(item.get("key"))) if names is not None else None
    return {**item, "key": alias} if alias else item


_ENUM = re.compile(r"^Invalid enum value '(?P<value>.*)'$", re.S)
# What a field of a fixed form expects, by a part of its name (the first that matches).
_FORMATS = (
    ("email", "an e-mail address such as name@example.org"),
    ("phone", "a phone number of digits, spaces and + ( ) . / - such as +40 232 000 000"),
    ("website", "a web address starting with http:// or https://"),
    ("url", "a web address starting with http:// or https://"),
)
_REGEX = re.compile(r"^Expected `str` matching regex .*$", re.S)
_LISTED_AT_MOST = 12


def _vocabulary_for(key: str) -> list[str] | None:
    """The valid codes of the field named by ``key`` (``profile.needs[0].service_type``), if it is a code field."""
    from referralnet.vocabulary import codes

    name = re.sub(r"\[\d+\]", "", key).rsplit(".", 1)[-1]
    fields = {
        "county": codes.COUNTY_CODES, "counties": codes.COUNTY_CODES, "avoid_counties": codes.COUNTY_CODES,
        "gender": codes.Gender, "genders": codes.Gender, "nationality_group": codes.NationalityGroup,
        "nationality_groups": codes.NationalityGroup, "victim_status": codes.VictimStatus,
        "victim_statuses": codes.VictimStatus, "urgency": codes.Urgency, "age_band": codes.AgeBand,
        "priority": codes.Priority, "security_risk": codes.SecurityRisk, "role": codes.Role,
        "service_type": codes.SERVICE_TYPES, "type": codes.SERVICE_TYPES, "exploitation_forms": codes.EXPLOITATION_FORMS,
        "languages": codes.LANGUAGES, "accessibility": codes.ACCESSIBILITY, "conditions": codes.CONDITION_FLAGS,
        "unit": codes.CAPACITY_UNITS, "legal_form": codes.LEGAL_FORMS, "networks": codes.NETWORKS,
        "institution_type": codes.INSTITUTION_TYPES, "kind": codes.ORGANISATION_KINDS,
    }  # fmt: skip
    found = fields.get(name)
    if found is None:
        return None
    from typing import get_args

    return list(get_args(found) or found)  # type: ignore[call-overload]


def _literal_values(annotation: Any, key: str) -> list[str] | None:
    """The values of the Literal that ``key`` (``profile.needs[0].service_type``) names inside ``annotation``."""
    import msgspec.inspect as mi

    try:
        info: Any = mi.type_info(annotation)
    except Exception:  # noqa: BLE001 - not a type msgspec knows: no hint from it
        return None
    for part in re.findall(r"[^.\[\]]+", key):
        while True:
            if isinstance(info, mi.UnionType):
                info = next((t for t in info.types if not isinstance(t, mi.NoneType)), None)
            elif isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
                info = info.item_type
            elif isinstance(info, mi.DictType):
                info = info.value_type
            else:
                break
        if part.isdigit():
            continue
        if isinstance(info, mi.StructType):
            info = next((f.type for f in info.fields if f.encode_name == part), None)
        if info is None:
            return None
    while isinstance(info, (mi.UnionType, mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        info = next((t for t in info.types if not isinstance(t, mi.NoneType)), None) if isinstance(info, mi.UnionType) else info.item_type
    return [str(v) for v in info.values] if isinstance(info, mi.LiteralType) else None


def _enum_hint(key: str, value: str, valid: list[str] | None = None) -> str:
    """``did you mean RO-IS?``, or the valid values, or where to find them."""
    from rapidfuzz import fuzz, process

    valid = valid or _vocabulary_for(key)
    if not valid:
        return "see GET /api/v1/vocabulary for the valid codes"
    labels = {code: code for code in valid}
    if "RO-IS" in valid:
        from referralnet.vocabulary import geo

        labels.update({c.name: code for code, c in geo.counties().items()})
        labels.update({c.name_ascii: code for code, c in geo.counties().items()})
        labels.update({code.removeprefix("RO-"): code for code in valid})
    # The whole word first ("countys" -> counties, not declines_by_county); a part of one only when no
    # whole word is near ("shelter" -> residential_shelter).
    best = process.extractOne(value, list(labels), scorer=fuzz.ratio, processor=lambda s: s.casefold(), score_cutoff=75)
    if best is None:
        best = process.extractOne(value, list(labels), scorer=fuzz.WRatio, processor=lambda s: s.casefold(), score_cutoff=80)
    nearest = f"did you mean {labels[best[0]]}? " if best is not None else ""
    if len(valid) <= _LISTED_AT_MOST:
        return f"{nearest}valid values: {', '.join(valid)}"
    return f"{nearest}see GET /api/v1/vocabulary for the valid codes"


def _actionable(item: Any, request: Request[Any, Any, Any] | None = None) -> Any:
    """Enum errors gain the valid values or the nearest one; regex errors say what the field expects."""
    if not isinstance(item, dict) or not isinstance(item.get("message"), str):
        return item
    key, message = str(item.get("key") or ""), item["message"]
    if m := _ENUM.match(message):
        return {**item, "message": f"{message}; {_enum_hint(key, m.group('value'), _declared_values(request, item))}"}
    if _REGEX.match(message):
        what = next((text for part, text in _FORMATS if part in key), "a value in the documented format")
        return {**item, "message": f"expected {what}"}
    return item


def _declared_values(request: Request[Any, Any, Any] | None, item: dict[str, Any]) -> list[str] | None:
    """The valid values as the handler declares them: its body type for body errors, else the parameter's type."""
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - no route (or no request): fall back to the field names
        return None
    key = str(item.get("key") or "")
    if item.get("source") == "body" and "data" in parameters:
        return _literal_values(parameters["data"].annotation, key)
    for name, field in parameters.items():
        if name == key or getattr(field.kwarg_definition, "query", None) == key:
            return _literal_values(field.annotation, "")
    return None


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Request validation errors, each naming its field in ``extra[].key``.

    A well-formed JSON body with a wrong value is 422 (unprocessable); a bad query or path
    parameter is 400. Malformed JSON never reaches here: Litestar answers it with 400 itself.
    """
    extra = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if exc.extra else [])
    extra = [_actionable(_as_sent(_name_field(item), request), request) for item in extra]
    for i, item in enumerate(extra):
        if isinstance(item, dict) and item.get("key") == "data":
            # Litestar names the whole body "data"; "'data'" is its message for a missing body.
            message = "a JSON body is required" if item.get("message") == "'data'" else item.get("message")
            extra[i] = {**item, "key": "body", "message": message}
    from_body = bool(extra) and all(isinstance(i, dict) and i.get("source") == "body" for i in extra)
    status = 422 if from_body else 400
    return Response(_body(status, exc.detail, extra or None), status_code=status, media_type=MediaType.JSON)


def not_found_handler(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[dict[str, Any]]:
    """A path that would name a route with a number in place of a word is a bad parameter (400), not a 404."""
    param = _integer_parameter_in_place_of(request)
    if param is not None:
        detail = f"path parameter {param} must be an integer"
        return Response(_body(400, detail, [{"key": param, "message": detail, "source": "path"}]), status_code=400, media_type=MediaType.JSON)
    return Response(_body(404, exc.detail, None), status_code=404, media_type=MediaType.JSON)


def _integer_parameter_in_place_of(request: Request[Any, Any, Any]) -> str | None:
    segments = request.url.path.split("/")
    for i, segment in enumerate(segments):
        if not segment or segment.isdigit():
            continue
        trial = "/".join([*segments[:i], "1", *segments[i + 1 :]])
        try:
            _, _, _, params, template = request.app.asgi_router.handle_routing(trial, request.method)
        except (NotFoundException, HTTPException):
            continue
        names = template.split("/")
        if i < len(names) and (m := re.fullmatch(r"\{(\w+)(?::int)?\}", names[i])) and isinstance(params.get(m.group(1)), int):
            return m.group(1)
    return None


exception_handlers: ExceptionHandlersMap = {
    NotFoundException: not_found_handler,
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
    "one",
]
