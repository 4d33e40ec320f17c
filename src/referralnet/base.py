"""Struct bases shared by every domain package.

Inputs and data files reject unknown keys so a typo in a request or a seed file is reported
with its path instead of being silently dropped. Every subclass is keyword-only, so a required
field may follow one with a default.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _KeywordOnly(type(msgspec.Struct)):  # type: ignore[misc]
    # msgspec does not inherit ``kw_only``; this metaclass makes it the default for subclasses too.
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        kwargs.setdefault("kw_only", True)
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class Input(msgspec.Struct, metaclass=_KeywordOnly, forbid_unknown_fields=True):
    """Base for request bodies and data files: unknown keys are errors."""


class Output(msgspec.Struct, metaclass=_KeywordOnly):
    """Base for response bodies."""
