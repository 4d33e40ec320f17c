"""The coverage reports as the API and the CLI serve them: matrix, gaps, activity and the map.

Each function reads through :mod:`referralnet.coverage.services` (the activity through
:mod:`referralnet.coverage.activity_reads`) and builds its figures with the pure modules. ``safe``
applies disclosure control to counts of people (see :mod:`referralnet.coverage.disclosure`); the
matrix and the map hold none, so they read the same.
``organisations`` is a network's view (``directory.networks.Scope.organisations``; ``None``: everyone).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from referralnet.coverage import activity, activity_reads, disclosure, services, svgmap
from referralnet.coverage.gaps import GapReason, demand_counts, find_gaps
from referralnet.coverage.groups import AGE_GROUPINGS, Group, all_age_groups, make_groups, single_group
from referralnet.coverage.matrix import COUNTY_INDEX, Cube, compute
from referralnet.coverage.schemas import Activity, AgeGroupOut, CoverageCell, CoverageMatrix, Gap, GapList
from referralnet.coverage.services import Progress, _noop
from referralnet.errors import BadParameter
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import SERVICE_TYPES

MapMode = Literal["providers", "free_capacity"]


@dataclass(frozen=True)
class Filters:
    """What part of the matrix to compute; ``None`` means every value."""

    county: str | None = None
    region: str | None = None
    service_type: str | None = None
    ages: str = "coarse"
    age_group: str | None = None
    gender: str | None = None
    exploitation_form: str | None = None
    by_form: bool = False
    language: str | None = None
    distance_km: float = 50.0

    def counties(self) -> tuple[str, ...]:
        return services.resolve_counties(self.county, self.region)

    def groups(self) -> list[Group]:
        try:
            return make_groups(self.ages, age_group=self.age_group, gender=self.gender,
                               form=self.exploitation_form, by_form=self.by_form)
        except KeyError:
            allowed = ", ".join(AGE_GROUPINGS[self.ages])
            raise BadParameter(f"unknown age group for ages={self.ages}; one of: {allowed}", field="age_group") from None

    def types(self) -> list[str]:
        return [self.service_type] if self.service_type else list(SERVICE_TYPES)


async def cube_of(filters: Filters, progress: Progress = _noop, organisations: frozenset[int] | None = None) -> Cube:
    groups = filters.groups()
    table = await services.load_table(progress, organisations)
    # numpy releases the GIL for most of this; a thread keeps the event loop answering meanwhile.
    cube = await asyncio.to_thread(
        compute, table, groups, distance_km=filters.distance_km, types=filters.types(), language=filters.language
    )
    progress(1.0, "done")
    return cube


def matrix_cells(cube: Cube, counties: tuple[str, ...]) -> list[CoverageCell]:
    out = []
    for county in counties:
        c = COUNTY_INDEX[county]
        for t, service_type in enumerate(cube.types):
            for k, g in enumerate(cube.groups):
                out.append(CoverageCell(
                    county=county, service_type=service_type, age_group=g.age_group or "", gender=g.gender or "",
                    exploitation_form=g.form,
                    providers=int(cube.providers[c, t, k]), providers_stated=int(cube.providers_stated[c, t, k]),
                    services=int(cube.services[c, t, k]), services_stated=int(cube.services_stated[c, t, k]),
                    capacity_total=int(cube.capacity_total[c, t, k]), capacity_free=int(cube.capacity_free[c, t, k]),
                    capacity_unknown=int(cube.capacity_unknown[c, t, k]),
                ))
    return out


async def matrix_report(
    filters: Filters, now: dt.datetime, *, safe: bool, progress: Progress = _noop, organisations: frozenset[int] | None = None
) -> CoverageMatrix:
    counties = filters.counties()
    cube = await cube_of(filters, progress, organisations)
    return CoverageMatrix(
        generated_at=now, distance_km=filters.distance_km, ages=filters.ages,
        age_groups=[AgeGroupOut(code=code, bands=list(bands)) for code, bands in AGE_GROUPINGS[filters.ages].items()],
        language=filters.language, disclosure="safe" if safe else "raw", cells=matrix_cells(cube, counties),
    )


async def gaps_report(
    filters: Filters,
    now: dt.datetime,
    period: tuple[dt.datetime, dt.datetime],
    *,
    safe: bool,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
    reason: GapReason | None = None,
    limit: int | None = None,
    progress: Progress = _noop,
    organisations: frozenset[int] | None = None,
) -> GapList:
    counties = filters.counties()
    cube = await cube_of(filters, lambda f, label: progress(0.5 * f, label), organisations)
    demand = await services.unplaced_demand(
        period, counties, lambda f, label: progress(0.5 + 0.5 * f, label), organisations=organisations
    )
    unplaced = demand_counts(demand, cube.types, cube.groups, filters.language)
    rows = find_gaps(cube, unplaced, counties=counties, reason=reason, safe=safe, threshold=threshold)
    names = {code: c.name for code, c in geo.counties().items()}
    items = [
        Gap(
            county=r.county, county_name=names[r.county], service_type=r.service_type,
            age_group=r.group.age_group or "", gender=r.group.gender or "", exploitation_form=r.group.form,
            reason=r.reason, providers=r.providers, services=r.services, capacity_total=r.capacity_total,
            referrals_unplaced=disclosure.primary(r.referrals_unplaced, threshold) if safe else r.referrals_unplaced,
        )
        for r in (rows if limit is None else rows[:limit])
    ]
    return GapList(
        generated_at=now, period_from=period[0], period_to=period[1], distance_km=filters.distance_km,
        ages=filters.ages, language=filters.language, disclosure="safe" if safe else "raw", threshold=threshold,
        total=len(rows), items=items,
    )


async def activity_report(
    now: dt.datetime,
    period: tuple[dt.datetime, dt.datetime],
    *,
    counties: tuple[str, ...],
    safe: bool,
    full: bool = True,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
    stale_days: int = 7,
    progress: Progress = _noop,
    organisations: frozenset[int] | None = None,
) -> Activity:
    raw = await activity_reads.raw_activity(
        period, now, counties=counties, stale_days=stale_days, full=full, progress=progress, organisations=organisations
    )
    return activity.build(raw, period=period, now=now, counties=list(counties), safe=safe, full=full,
                          threshold=threshold, stale_days=stale_days)


async def map_svg(
    service_type: str,
    mode: MapMode = "providers",
    *,
    age_group: str | None = None,
    gender: str | None = None,
    exploitation_form: str | None = None,
    language: str | None = None,
    distance_km: float = 50.0,
    organisations: frozenset[int] | None = None,
) -> str:
    """The county map of one service type for one (optionally restricted) victim group."""
    if age_group is not None and age_group not in all_age_groups():
        raise BadParameter(f"unknown age group; one of: {', '.join(all_age_groups())}", field="age_group")
    group = single_group(age_group, gender, exploitation_form)
    table = await services.load_table(organisations=organisations)
    cube = await asyncio.to_thread(compute, table, [group], distance_km=distance_km, types=[service_type], language=language)
    return await asyncio.to_thread(render_map, cube, mode, distance_km=distance_km, language=language)


def render_map(cube: Cube, mode: MapMode, *, distance_km: float, language: str | None = None) -> str:
    """Pure: the SVG of the first type and group of ``cube``."""
    seats = geo.counties()
    values: dict[str, float | None] = {}
    for code, c in COUNTY_INDEX.items():
        if mode == "providers":
            values[code] = float(cube.providers[c, 0, 0])
        else:
            services_n, unknown = cube.services[c, 0, 0], cube.capacity_unknown[c, 0, 0]
            values[code] = None if services_n and unknown == services_n else float(cube.capacity_free[c, 0, 0])
    g = cube.groups[0]
    who = ", ".join(x for x in (g.age_group, g.gender, g.form and f"{g.form} exploitation",
                                language and f"speaking {language}") if x) or "any victim"
    type_label = SERVICE_TYPES[cube.types[0]][1]
    what = "Providers within reach" if mode == "providers" else "Free capacity within reach"
    return svgmap.render(
        values, geo.county_shapes(),
        names={code: s.name for code, s in seats.items()}, short={code: s.short for code, s in seats.items()},
        title=f"{what}: {type_label}",
        subtitle=f"For: {who}. Reach: service area, or a site within {distance_km:g} km of the county seat.",
        legend_title="Organisations" if mode == "providers" else "Free places (services' own units)",
        value_label="providers" if mode == "providers" else "free capacity",
    )

