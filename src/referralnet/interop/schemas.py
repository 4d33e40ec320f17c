"""Response bodies of the HSDS read API and the FHIR bundle."""

from __future__ import annotations

from typing import Any

from referralnet.base import Output


class HsdsPage(Output):
    """The HSDS 3.0 API's page: counts, position flags and the page's objects."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[dict[str, Any]]
