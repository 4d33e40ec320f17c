"""A shown candidate and its reasons: why it fits, and what to check before referring.

Every part of the score that moves a candidate (``scoring``) becomes a :class:`Reason` with its
figure.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from typing import Literal

import numpy as np

from referralnet.clock import utc
from referralnet.matching.directory import LANGUAGE_BITS
from referralnet.matching.eligibility import caveat_text
from referralnet.matching.explain import NOT_STATED, label
from referralnet.matching.filters import LANGUAGE_INTERPRETATION, LANGUAGE_SHARED
from referralnet.matching.geodesy import shown_km
from referralnet.matching.live import ProviderRecord
from referralnet.matching.schemas import MatchCandidate, Reason
from referralnet.matching.scoring import RESPONSE_HORIZON_MINUTES, Live
from referralnet.matching.selection import Selection
from referralnet.vocabulary.codes import COUNTY_CODES, LANGUAGES

UNIT_WORDS = {
    "places": ("place", "places"),
    "beds": ("bed", "beds"),
    "cases_per_month": ("case this month", "cases this month"),
    "sessions_per_week": ("session this week", "sessions this week"),
}


def candidates(
    s: Selection, shown: np.ndarray, scores: np.ndarray, km: list[float | None], live: Live, records: Mapping[int, ProviderRecord]
) -> list[MatchCandidate]:
    """Survivors ``shown`` of ``s`` as shown; ``km`` is the geodesic distance to each one's nearest eligible site.

    The columns are read for all of them at once (plain Python values), then each candidate is put together.
    """
    d = s.directory
    rows = s.rows[shown]
    site = s.site[shown]
    located = site >= 0
    confidential, county = np.zeros(site.size, dtype=bool), np.full(site.size, -1, dtype=np.int64)
    confidential[located], county[located] = d.site_confidential[site[located]], d.site_county[site[located]]
    columns = zip(
        rows.tolist(), d.service_id[rows].tolist(), d.organisation_id[rows].tolist(),
        d.national[rows].tolist(), d.capacity_bound[rows].tolist(), d.has_confidential[rows].tolist(),
        d.languages[rows].tolist(), s.need[shown].tolist(), s.in_area[shown].tolist(), s.not_stated[shown].tolist(),
        s.language[shown].tolist(), live.available[shown].tolist(), live.fresh[shown].tolist(),
        live.age_days[shown].tolist(), scores[shown].tolist(), confidential.tolist(), km, county.tolist(), *_capacity_of(live, shown),
    )  # fmt: skip
    # The same for every candidate of this match.
    max_km, in_county = s.query.max_km, _in_area(s.profile.location.county)
    languages_asked, guarded = tuple(s.profile.languages), s.profile.security_risk != "low"
    needs = [(priority, _covers(priority, service_type)) for service_type, priority in s.needs]
    units, organisation_names, service_types, service_names = d.capacity_unit, d.organisation_name, d.service_type, d.service_name
    out = []
    for (
        row, sid, org, national, bound, has_conf, languages, need, in_area, not_stated, fit,
        available, fresh, age, points, conf, k, county_index, total, updated_at,
    ) in columns:  # fmt: skip
        site_county = COUNTY_CODES[county_index] if county_index >= 0 else None
        if k is not None and conf:
            k = shown_km(k, conf)
        unit = units[row]
        priority, covers = needs[need]
        reasons = [covers]
        if k is not None:
            reasons.append(_distance_reason(k, site_county, max_km))
        if national:
            reasons.append(_NATIONAL)
        elif in_area:
            reasons.append(in_county)
        reasons += _capacity_reasons(unit, bound, available, fresh, age)
        if fit == LANGUAGE_SHARED:
            reasons.append(_speaks(languages_asked, languages))
        elif fit == LANGUAGE_INTERPRETATION:
            reasons.append(_INTERPRETATION)
        if has_conf and guarded:
            reasons.append(_CONFIDENTIAL)
        record = records.get(org)
        if record is not None and record.offers > 0:
            reasons += _record_reasons(record)
        if not_stated:
            reasons += _not_stated_reasons(not_stated)
        reported = available >= 0
        out.append(
            MatchCandidate(
                service_id=sid,
                organisation_id=org,
                organisation_name=organisation_names[row],
                service_type=service_types[row],
                service_name=service_names[row],
                priority=priority,  # type: ignore[arg-type]
                score=points,
                distance_km=k,
                site_county=site_county,
                available=available if reported else None,
                total=total,
                capacity_unit=unit,
                capacity_updated_at=updated_at,
                capacity_stale=bool(reported and updated_at is not None and not fresh),
                reasons=reasons,
            )
        )
    return out


def _capacity_of(live: Live, shown: np.ndarray) -> tuple[list[int | None], list[dt.datetime | None]]:
    """The shown survivors' total places (None: not reported) and when their capacity was read as updated (None: not read).

    What :meth:`CapacityColumns.capacity` gives one at a time, read as columns.
    """
    c, position = live.columns, live.position[shown]
    total = np.where(position >= 0, c.total[position], -1).tolist()
    updated = c.updated_at[position].tolist()
    return (
        [None if t < 0 else t for t in total],
        [None if p < 0 else utc(u) for p, u in zip(position.tolist(), updated)],
    )


# Reasons that read the same for every candidate they apply to, made once (a Reason is never changed).
_NATIONAL = Reason(code="national", kind="fit", text="works nationally")
_CONFIDENTIAL = Reason(code="confidential_site", kind="fit", text="has a confidential site")
_NOT_REPORTED = Reason(code="capacity_not_reported", kind="caveat", text="capacity not reported")
_INTERPRETATION = Reason(code="interpretation", kind="fit", text="interpretation available")


@functools.cache
def _covers(priority: str, service_type: str) -> Reason:
    return Reason(code="covers_need", kind="fit", text=f"covers the {priority} need: {label(service_type)}")


@functools.cache
def _in_area(county: str) -> Reason:
    return Reason(code="in_area", kind="fit", text=f"works in the person's county ({county})")


@functools.cache
def _not_stated_reasons(mask: int) -> tuple[Reason, ...]:
    """The caveats of a bitmask over ``NOT_STATED`` (a few bits: at most 2 ** len(NOT_STATED) masks)."""
    return tuple(_not_stated(bit) for bit in range(len(NOT_STATED)) if mask >> bit & 1)


@functools.cache
def _not_stated(bit: int) -> Reason:
    attribute = NOT_STATED[bit][0]
    return Reason(code="not_stated", kind="caveat", text=caveat_text(attribute) or "", attribute=attribute)


@functools.lru_cache(maxsize=4096)
def _distance_reason(km: float, county: str | None, max_km: float | None) -> Reason:
    """The nearest site's distance (shown rounded to 0.1 km: candidates near one origin share them)."""
    text = f"nearest site {km:.1f} km away, in {county}"
    if max_km is not None and km > max_km:
        return Reason(code="distance", kind="caveat", text=f"{text}, beyond {max_km:g} km", value=km)
    return Reason(code="distance", kind="fit", text=text, value=km)


def _capacity_reasons(unit: str | None, bound: bool, available: int, fresh: bool, days: float) -> list[Reason]:
    if available < 0:
        return [_NOT_REPORTED] if bound else []
    out = [_free(unit, available)]
    if math.isnan(days):
        return out
    dated = _dated if days > 0 else _dated.__wrapped__  # a figure from the future (-0.0) must not find 0.0's reason
    return [*out, dated(fresh, int(days), round(days, 1))]


@functools.lru_cache(maxsize=4096)
def _dated(fresh: bool, days: int, value: float) -> Reason:
    """How old a capacity figure is: whole ``days`` in words (0: today), ``value`` to 0.1 day."""
    if not fresh:
        return Reason(code="capacity_stale", kind="caveat", text=f"capacity figure is {days} days old", value=value)
    when = "today" if days < 1 else "1 day ago" if days < 2 else f"{days} days ago"
    return Reason(code="capacity_fresh", kind="fit", text=f"capacity updated {when}", value=value)


@functools.lru_cache(maxsize=4096)
def _free(unit: str | None, available: int) -> Reason:
    """The free places reported (reasons recur: a few units and small figures)."""
    one, many = UNIT_WORDS.get(unit or "places", UNIT_WORDS["places"])
    if available == 0:
        return Reason(code="no_free_capacity", kind="caveat", text=f"no free {many} reported", value=0)
    what = one if available == 1 else many
    return Reason(code="free_capacity", kind="fit", text=f"{available} free {what}", value=available)


@functools.lru_cache(maxsize=4096)
def _speaks(languages: tuple[str, ...], mask: int) -> Reason:
    """The person's languages the service speaks, in the profile's order."""
    shared = [LANGUAGES[code][0] for code in languages if code in LANGUAGES and mask >> LANGUAGE_BITS[code] & 1]
    return Reason(code="language_shared", kind="fit", text=f"speaks {', '.join(shared)}")




@functools.lru_cache(maxsize=4096)
def _record_reasons(r: ProviderRecord) -> tuple[Reason, ...]:
    """The acceptance rate and the median answer time, each with its figure (once per record: records are frozen)."""
    text = f"accepted {r.accepted} of {r.offers} referral offers"
    if r.expired:
        text += f", {r.expired} left unanswered until the deadline"
    kind: Literal["fit", "caveat"] = "fit" if r.accepted * 2 >= r.offers else "caveat"
    out = [Reason(code="answer_record", kind=kind, text=text, value=round(r.acceptance_rate, 2))]
    minutes = r.median_response_minutes
    if minutes is not None:
        fast = minutes < RESPONSE_HORIZON_MINUTES / 2
        text = f"median answer to a referral offer in {_duration(minutes)}"
        out.append(Reason(code="answer_time", kind="fit" if fast else "caveat", text=text, value=round(minutes, 1)))
    return tuple(out)


def _duration(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{round(minutes / 60, 1):g} h" if minutes < 48 * 60 else f"{round(minutes / 1440, 1):g} days"
