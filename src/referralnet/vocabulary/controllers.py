"""``GET /api/v1/vocabulary``: every code list with Romanian and English labels (public, cacheable)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

import msgspec
from litestar import Controller, get

from referralnet.params import Limit, Offset, query
from referralnet.tables import Network
from referralnet.vocabulary import codes, geo
from referralnet.vocabulary.codes import CountyCode
from referralnet.vocabulary.schemas import (
    AgeBandTerm,
    CountyTerm,
    LocalityList,
    LocalityTerm,
    ServiceGroupTerm,
    ServiceTypeTerm,
    Term,
    Vocabulary,
)

ATTRIBUTION = [
    "County seats and locality coordinates: GeoNames, geonames.org (CC BY 4.0).",
    "Administrative units: SIRUTA classification by INS (via sirutalib, BSD-3-Clause).",
    "County shapes: geoBoundaries ROU ADM1 (gbOpen, source World Bank), CC BY 4.0.",
]


def _terms(table: dict[str, tuple[str, str]]) -> list[Term]:
    return [Term(code=code, en=en, ro=ro) for code, (en, ro) in table.items()]


@cache
def build_vocabulary() -> Vocabulary:
    return Vocabulary(
        counties=[
            CountyTerm(
                code=c.code, name=c.name, name_ascii=c.name_ascii, region=c.region, seat=c.seat, seat_lat=c.lat, seat_lon=c.lon
            )
            for c in geo.counties().values()
        ],
        service_groups=[
            ServiceGroupTerm(code=g, en=en, ro=ro, types=[t[0] for t in items])
            for g, (en, ro, items) in codes.SERVICE_GROUPS.items()
        ],
        service_types=[
            ServiceTypeTerm(code=code, en=en, ro=ro, group=group, capacity_bound=code in codes.CAPACITY_BOUND_TYPES)
            for code, (group, en, ro) in codes.SERVICE_TYPES.items()
        ],
        exploitation_forms=_terms(codes.EXPLOITATION_FORMS),
        genders=_terms(codes.GENDERS),
        nationality_groups=_terms(codes.NATIONALITY_GROUPS),
        victim_statuses=_terms(codes.VICTIM_STATUSES),
        age_bands=[AgeBandTerm(code=b, min=lo, max=hi) for b, (lo, hi) in codes.AGE_BANDS.items()]
        + [AgeBandTerm(code="unknown", min=None, max=None)],
        languages=_terms(codes.LANGUAGES),
        accessibility=_terms(codes.ACCESSIBILITY),
        condition_flags=_terms(codes.CONDITION_FLAGS),
        capacity_units=_terms(codes.CAPACITY_UNITS),
        legal_forms=_terms(codes.LEGAL_FORMS),
        networks=_terms(codes.NETWORKS),
        urgencies=_terms(codes.URGENCIES),
        organisation_kinds=_terms(codes.ORGANISATION_KINDS),
        decline_reasons=_terms(codes.DECLINE_REASONS),
        institution_types=_terms(codes.INSTITUTION_TYPES),
        localities_url="/api/v1/vocabulary/localities",
        attribution=ATTRIBUTION,
    )


class VocabularyController(Controller):
    path = "/api/v1/vocabulary"
    tags = ["vocabulary"]

    @get("/", operation_id="getVocabulary", cache=60)
    async def vocabulary(self) -> Vocabulary:
        """All code lists with labels; localities are listed at ``/api/v1/vocabulary/localities``."""
        # Networks are rows (an admin adds them): read at each call, the rest is built once.
        rows = await Network.select(Network.code, Network.name_en, Network.name_ro).order_by(Network.code)
        return msgspec.structs.replace(
            build_vocabulary(), networks=[Term(code=r["code"], en=r["name_en"], ro=r["name_ro"]) for r in rows]
        )

    @get("/localities", operation_id="listLocalities")
    async def localities(
        self,
        county: Annotated[CountyCode | None, query("ISO 3166-2:RO county code")] = None,
        q: Annotated[str | None, query("Name prefix, diacritics-insensitive", max_length=100)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> LocalityList:
        """Romanian localities (SIRUTA) with coordinates, filtered by county and name prefix."""
        needle = geo.fold(q) if q else None
        rows = [
            loc
            for loc in geo.localities()
            if (county is None or loc.county == county) and (needle is None or geo.fold(loc.name).startswith(needle))
        ]
        page = rows[offset : offset + limit]
        return LocalityList(
            items=[
                LocalityTerm(
                    siruta=loc.siruta, name=loc.name, name_ascii=loc.name_ascii, county=loc.county, kind=loc.kind, lat=loc.lat, lon=loc.lon
                )
                for loc in page
            ],
            total=len(rows),
        )
