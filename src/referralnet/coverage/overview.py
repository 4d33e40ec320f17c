"""The secretariat's coverage page: one victim group's matrix over every county and service type, a
county's row, and the county map with a link per county. Reads through :mod:`coverage.services`
(limited to a network's members by ``organisations``); the page handler only renders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from referralnet.coverage import services, svgmap
from referralnet.coverage.groups import AGE_GROUPINGS, single_group
from referralnet.coverage.matrix import COUNTY_INDEX, Cube, compute
from referralnet.errors import BadParameter
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import COUNTY_CODES, GENDERS, SERVICE_TYPES


@dataclass(frozen=True)
class Figures:
    """What a county offers one victim group for one service type, within reach."""

    providers: int
    services: int
    capacity_total: int
    capacity_free: int
    capacity_unknown: int


@dataclass(frozen=True)
class CountyRow:
    county: str
    name: str
    by_type: dict[str, Figures]


@dataclass(frozen=True)
class Overview:
    rows: list[CountyRow]  # every county, in code order

    def row(self, county: str) -> CountyRow:
        return self.rows[COUNTY_INDEX[county]]


def check_choice(
    service_type: str | None, age_group: str | None, gender: str | None, county: str | None, *, type_required: bool = True
) -> None:
    """A 400 naming the field for a choice the page never offers (a typed address)."""
    if (service_type is not None or type_required) and service_type not in SERVICE_TYPES:
        raise BadParameter("unknown service type", field="service_type")
    if age_group is not None and age_group not in AGE_GROUPINGS["coarse"]:
        raise BadParameter("unknown age group", field="age_group")
    if gender is not None and gender not in GENDERS:
        raise BadParameter("unknown gender", field="gender")
    if county is not None and county not in COUNTY_INDEX:
        raise BadParameter("unknown county", field="county")


async def overview(
    *, age_group: str | None, gender: str | None, organisations: frozenset[int] | None, distance_km: float = 50.0
) -> Overview:
    """Every county x service type for one victim group (``None``: any age or gender), members' services only."""
    table = await services.load_table(organisations=organisations)
    types = list(SERVICE_TYPES)
    cube: Cube = await asyncio.to_thread(
        compute, table, [single_group(age_group, gender)], distance_km=distance_km, types=types
    )
    names = {code: c.name for code, c in geo.counties().items()}
    rows = []
    for county in COUNTY_CODES:
        c = COUNTY_INDEX[county]
        rows.append(CountyRow(county=county, name=names[county], by_type={
            t: Figures(
                providers=int(cube.providers[c, i, 0]), services=int(cube.services[c, i, 0]),
                capacity_total=int(cube.capacity_total[c, i, 0]), capacity_free=int(cube.capacity_free[c, i, 0]),
                capacity_unknown=int(cube.capacity_unknown[c, i, 0]),
            )
            for i, t in enumerate(types)
        }))  # fmt: skip
    return Overview(rows=rows)


def linked_map(
    view: Overview, service_type: str, *, href: Callable[[str], str], title: str, subtitle: str, legend_title: str,
    value_label: str, unknown_label: str,
) -> str:  # fmt: skip
    """The inline county map of one service type's providers, each county a link to ``href(county)``."""
    seats = geo.counties()
    return svgmap.render(
        {row.county: float(row.by_type[service_type].providers) for row in view.rows}, geo.county_shapes(),
        names={code: s.name for code, s in seats.items()}, short={code: s.short for code, s in seats.items()},
        title=title, subtitle=subtitle, legend_title=legend_title, value_label=value_label,
        links={row.county: href(row.county) for row in view.rows}, unknown_label=unknown_label,
    )  # fmt: skip
