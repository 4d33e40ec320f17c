"""The ``Table`` base of the app's tables: Piccolo's, with the ``id`` primary key it adds made known to the type checker."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Piccolo adds the ``id`` primary key at class creation; tell the type checker.
    from piccolo.columns import Serial
    from piccolo.table import Table as _Table

    class Table(_Table):
        id: Serial
else:
    from piccolo.table import Table

__all__ = ["Table"]
