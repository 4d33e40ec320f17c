"""A shown candidate and its reasons: why it fits, and what to check before referring.

Every part of the score that moves a candidate (``scoring``) becomes a :class:`Reason` with its
figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from referralnet.matching.directory import LANGUAGE_BITS, Listing
from referralnet.matching.eligibility import caveat_text
from referralnet.matching.explain import NOT_STATED, label
from referralnet.matching.filters import LANGUAGE_INTERPRETATION, LANGUAGE_SHARED
from referralnet.matching.geodesy import shown_km
from referralnet.matching.live import ProviderRecord
from referralnet.matching.schemas import MatchCandidate, Reason
from referralnet.matching.scoring import RESPONSE_HORIZON_MINUTES, Live
from referralnet.matching.selection import Selection
from referralnet.vocabulary.codes import LANGUAGES

UNIT_WORDS = {
    "places": ("place", "places"),
    "beds": ("bed", "beds"),
    "cases_per_month": ("case this month", "cases this month"),
    "sessions_per_week": ("session this week", "sessions this week"),
}


def candidate(
    s: Selection, i: int, points: float, km: float | None, live: Live, records: Mapping[int, ProviderRecord]
) -> MatchCandidate:
    """Survivor ``i`` of ``s`` as shown; ``km`` is the geodesic distance to its nearest eligible site."""
    d = s.directory
    c = d.listing(int(s.rows[i]))
    site = int(s.site[i])
    if km is not None and site >= 0:
        km = shown_km(km, bool(d.site_confidential[site]))
    cap = live.capacity(i)
    stale = bool(cap.available is not None and cap.updated_at is not None and not live.fresh[i])
    return MatchCandidate(
        service_id=c.service_id,
        organisation_id=c.organisation_id,
        organisation_name=c.organisation_name,
        service_type=c.service_type,
        service_name=c.service_name,
        priority=s.needs[int(s.need[i])][1],  # type: ignore[arg-type]
        score=points,
        distance_km=km,
        site_county=d.site_county_code(site) if site >= 0 else None,
        available=cap.available,
        total=cap.total,
        capacity_unit=c.capacity_unit,
        capacity_updated_at=cap.updated_at,
        capacity_stale=stale,
        reasons=_reasons(s, i, c, km, live, records.get(c.organisation_id)),
    )


def _reasons(s: Selection, i: int, c: Listing, km: float | None, live: Live, record: ProviderRecord | None) -> list[Reason]:
    d, row = s.directory, int(s.rows[i])
    service_type, priority = s.needs[int(s.need[i])]
    out = [Reason(code="covers_need", kind="fit", text=f"covers the {priority} need: {label(service_type)}")]
    if km is not None:
        out.append(_distance_reason(km, d.site_county_code(int(s.site[i])), s.query.max_km))
    if c.national:
        out.append(Reason(code="national", kind="fit", text="works nationally"))
    elif s.in_area[i]:
        out.append(Reason(code="in_area", kind="fit", text=f"works in the person's county ({s.profile.location.county})"))
    out += _capacity_reasons(c.capacity_unit, bool(d.capacity_bound[row]), live, i)
    out += _language_reasons(s, i)
    if s.profile.security_risk != "low" and d.has_confidential[row]:
        out.append(Reason(code="confidential_site", kind="fit", text="has a confidential site"))
    if record is not None and record.offers > 0:
        out += _record_reasons(record)
    not_stated = int(s.not_stated[i])
    for bit, (attribute, _) in enumerate(NOT_STATED):
        if not_stated >> bit & 1:
            out.append(Reason(code="not_stated", kind="caveat", text=caveat_text(attribute) or "", attribute=attribute))
    return out


def _distance_reason(km: float, county: str | None, max_km: float | None) -> Reason:
    text = f"nearest site {km:.1f} km away, in {county}"
    if max_km is not None and km > max_km:
        return Reason(code="distance", kind="caveat", text=f"{text}, beyond {max_km:g} km", value=km)
    return Reason(code="distance", kind="fit", text=text, value=km)


def _capacity_reasons(unit: str | None, bound: bool, live: Live, i: int) -> list[Reason]:
    available = int(live.available[i])
    if available < 0:
        if not bound:
            return []
        return [Reason(code="capacity_not_reported", kind="caveat", text="capacity not reported")]
    one, many = UNIT_WORDS.get(unit or "places", UNIT_WORDS["places"])
    if available == 0:
        out = [Reason(code="no_free_capacity", kind="caveat", text=f"no free {many} reported", value=0)]
    else:
        what = one if available == 1 else many
        out = [Reason(code="free_capacity", kind="fit", text=f"{available} free {what}", value=available)]
    days = float(live.age_days[i])
    if np.isnan(days):
        return out
    value = round(days, 1)
    if not live.fresh[i]:
        return [*out, Reason(code="capacity_stale", kind="caveat", text=f"capacity figure is {int(days)} days old", value=value)]
    when = "today" if days < 1 else "1 day ago" if days < 2 else f"{int(days)} days ago"
    return [*out, Reason(code="capacity_fresh", kind="fit", text=f"capacity updated {when}", value=value)]


def _language_reasons(s: Selection, i: int) -> list[Reason]:
    fit = int(s.language[i])
    if fit == LANGUAGE_SHARED:
        mask = int(s.directory.languages[int(s.rows[i])])
        shared = [LANGUAGES[code][0] for code in s.profile.languages if code in LANGUAGES and mask >> LANGUAGE_BITS[code] & 1]
        return [Reason(code="language_shared", kind="fit", text=f"speaks {', '.join(shared)}")]
    if fit == LANGUAGE_INTERPRETATION:
        return [Reason(code="interpretation", kind="fit", text="interpretation available")]
    return []


def _record_reasons(r: ProviderRecord) -> list[Reason]:
    """The acceptance rate and the median answer time, each with its figure."""
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
    return out


def _duration(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{round(minutes / 60, 1):g} h" if minutes < 48 * 60 else f"{round(minutes / 1440, 1):g} days"
