"""A selection: the services of the needed types that pass the static filters, as parallel arrays.

Made by :func:`referralnet.matching.engine.select`; read by scoring, reasons and explanations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from referralnet.matching.directory import Directory
from referralnet.matching.filters import Query
from referralnet.matching.profile import Profile


@dataclass(frozen=True, slots=True, eq=False)
class Selection:
    """The services that pass the static filters, one entry per survivor (parallel arrays)."""

    directory: Directory
    profile: Profile
    query: Query
    needs: tuple[tuple[str, str], ...]  # (service type, priority), deduplicated, profile order
    rows: np.ndarray  # directory rows
    need: np.ndarray  # index into ``needs``
    site: np.ndarray  # nearest eligible site, -1 when none is located
    km: np.ndarray  # haversine km to that site, inf when none
    in_area: np.ndarray  # the service area covers the person's county, or is national
    not_stated: np.ndarray  # bitmask over explain.NOT_STATED of relevant unstated eligibility
    language: np.ndarray  # filters.LANGUAGE_* fit code
    considered: dict[str, int]  # services of each needed type
    excluded: dict[str, dict[str, int]]  # need -> constraint -> count
    beyond: dict[str, tuple[int, int]]  # need -> (row, site) of the nearest service out of reach only

    @property
    def service_ids(self) -> list[int]:
        return self.directory.service_id[self.rows].tolist()
