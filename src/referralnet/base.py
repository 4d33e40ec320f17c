"""Struct bases shared by every domain package.

Inputs and data files reject unknown keys so a typo in a request or a seed file
is reported with its path instead of being silently dropped.
"""

from __future__ import annotations

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for request bodies and data files: unknown keys are errors."""


class Output(msgspec.Struct, kw_only=True):
    """Base for response bodies."""
