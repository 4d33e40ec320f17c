"""Gaps: county x need combinations nobody can meet, ordered by the people they failed. Pure.

A cell of the coverage cube (county x service type x victim group) is a gap when

* ``no_provider``: no service of the type within reach admits the group, or
* ``no_free_capacity``: there are such services, every one reports its free capacity, and the
  sum is 0 (a service that reports nothing is not counted as full).

Gaps are ordered by ``referrals_unplaced``, the unplaced needs of referrals created in the period
(a need no provider accepted and none is left to ask; each need counts, not each referral) whose
county is the cell's county, whose type is the cell's and whose person is in the cell's group;
then by county, type and group order. With disclosure control on, the order uses the shown
figures, so equal ``"<10"`` figures do not reveal which is larger.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from referralnet.coverage.disclosure import DEFAULT_THRESHOLD, is_small
from referralnet.coverage.groups import Group
from referralnet.coverage.matrix import COUNTY_INDEX, Cube
from referralnet.vocabulary.codes import COUNTY_CODES

GapReason = Literal["no_provider", "no_free_capacity"]


@dataclass(frozen=True)
class Demand:
    """One unplaced referral as the gaps see it (never more of the profile)."""

    county: str
    age_band: str
    gender: str
    forms: tuple[str, ...]
    needs: tuple[str, ...]
    languages: tuple[str, ...] = ()


def demand_counts(
    referrals: Iterable[Demand], types: Sequence[str], groups: Sequence[Group], language: str | None = None
) -> np.ndarray:
    """counties x types x groups: how many of ``referrals`` fall in each cell.

    A referral counts once per needed type and group it belongs to; with a language filter only
    referrals of people who speak it count.
    """
    out = np.zeros((len(COUNTY_CODES), len(types), len(groups)), dtype=np.int64)
    type_pos = {t: i for i, t in enumerate(types)}
    member: dict[tuple[str, str, tuple[str, ...]], list[int]] = {}
    for r in referrals:
        c = COUNTY_INDEX.get(r.county)
        if c is None or (language is not None and language not in r.languages):
            continue
        key = (r.age_band, r.gender, r.forms)
        ks = member.get(key)
        if ks is None:
            ks = member[key] = [k for k, g in enumerate(groups) if g.admits_person(*key)]
        for need in dict.fromkeys(r.needs):
            t = type_pos.get(need)
            if t is not None:
                for k in ks:
                    out[c, t, k] += 1
    return out


@dataclass(frozen=True)
class GapRow:
    county: str
    service_type: str
    group: Group
    reason: GapReason
    providers: int
    services: int
    capacity_total: int
    referrals_unplaced: int


def find_gaps(
    cube: Cube,
    unplaced: np.ndarray,
    *,
    counties: Sequence[str] | None = None,
    reason: GapReason | None = None,
    safe: bool = False,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[GapRow]:
    """Every gap of ``cube`` within ``counties`` (default all), most unplaced referrals first."""
    no_provider = cube.providers == 0
    full = (cube.providers > 0) & (cube.capacity_free == 0) & (cube.capacity_unknown == 0)
    wanted = np.zeros(len(COUNTY_CODES), dtype=bool)
    wanted[[COUNTY_INDEX[c] for c in (counties or COUNTY_CODES)]] = True
    hits = (no_provider if reason == "no_provider" else full if reason == "no_free_capacity" else no_provider | full)
    hits &= wanted[:, None, None]
    rows = []
    for c, t, k in zip(*np.nonzero(hits)):
        rows.append(
            GapRow(
                county=COUNTY_CODES[c],
                service_type=cube.types[t],
                group=cube.groups[k],
                reason="no_provider" if no_provider[c, t, k] else "no_free_capacity",
                providers=int(cube.providers[c, t, k]),
                services=int(cube.services[c, t, k]),
                capacity_total=int(cube.capacity_total[c, t, k]),
                referrals_unplaced=int(unplaced[c, t, k]),
            )
        )

    def rank(row: GapRow) -> int:
        n = row.referrals_unplaced
        return threshold - 1 if safe and is_small(n, threshold) else n

    # np.nonzero walks county, type, group in order, so a stable sort keeps that order among ties.
    rows.sort(key=rank, reverse=True)
    return rows
