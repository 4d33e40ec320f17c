"""JSON columns: one encoder and one decoder for every table.

Piccolo hands JSON columns back as text on SQLite and on PostgreSQL's ``json`` columns, but a
driver may hand them back already decoded; :func:`load` accepts both.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def dumps(value: Any) -> str:
    """Encode a value for a JSON column."""
    return msgspec.json.encode(value).decode()


def decoder(type: Any) -> msgspec.json.Decoder[Any]:
    """The one decoder of ``type``, for a caller that holds it (text columns only, unlike :func:`load`)."""
    found = _decoders.get(type)
    if found is None:
        found = _decoders[type] = msgspec.json.Decoder(type)
    return found


def load(value: Any, type: Any = Any) -> Any:
    """A JSON column's value as ``type`` (plain JSON values by default), whether text or decoded."""
    if isinstance(value, (str, bytes)):
        found = _decoders.get(type)  # decoder(type), without a call more per value
        if found is None:
            found = _decoders[type] = msgspec.json.Decoder(type)
        return found.decode(value)
    return value if type is Any else msgspec.convert(value, type)


def rows(value: Any) -> list[dict[str, Any]]:
    """A ``json_agg`` column's rows (``NULL`` when it aggregated none)."""
    return [] if value is None else load(value, list[dict[str, Any]])  # type: ignore[no-any-return]
