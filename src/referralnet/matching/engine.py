"""The matching engine: hard filters, then capacity, scoring and ranking.

Two phases so the caller reads live capacity only for the services that survive the static
filters: :func:`select` applies every hard filter except capacity (``filters``), for each needed
service type; :func:`rank` applies the capacity rule, scores, sorts, and adds geodesic distances,
reasons, bundles and the explanation of what was excluded; :func:`rank_ids` ranks alike and gives the
candidates' ids only (whom a referral asks). All are pure functions of a profile, a :class:`Directory`,
live figures and an injected ``now``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np

from referralnet.matching import bundles, explain, reasons
from referralnet.matching.directory import Directory
from referralnet.matching.filters import Query, filter_type
from referralnet.matching.geodesy import geodesic_km_remembered
from referralnet.matching.live import Capacity, CapacityColumns, ProviderRecord
from referralnet.matching.profile import Profile
from referralnet.matching.schemas import Excluded, MatchResult
from referralnet.matching.scoring import Live, live_figures, score
from referralnet.matching.selection import Selection

__all__ = ["Selection", "match", "rank", "rank_ids", "select"]

GEODESICS_KEPT = 50_000  # (origin, site) distances a directory keeps (about 10 MB); emptied when full


def _needs(profile: Profile) -> tuple[tuple[str, str], ...]:
    needs: dict[str, str] = {}
    for n in profile.needs:
        if needs.get(n.service_type) != "required":
            needs[n.service_type] = n.priority
    return tuple(needs.items())


def select(profile: Profile, directory: Directory, origin: tuple[float, float]) -> Selection:
    """Every service of a needed type that passes the static hard filters, with its nearest site."""
    query, needs = Query.of(profile, origin), _needs(profile)
    found = {service_type: filter_type(directory, service_type, query) for service_type, _ in needs}
    parts = list(found.values()) or [filter_type(directory, "", query)]  # no needs: empty columns
    columns = {key: np.concatenate([p.columns[key] for p in parts]) for key in parts[0].columns}
    return Selection(
        directory=directory,
        profile=profile,
        query=query,
        needs=needs,
        need=np.repeat(np.arange(len(parts)), [p.columns["rows"].size for p in parts]),
        considered={t: p.considered for t, p in found.items()},
        excluded={t: p.excluded for t, p in found.items()},
        beyond={t: p.beyond for t, p in found.items() if p.beyond is not None},
        **columns,
    )


def _shortlist(order: np.ndarray, need: np.ndarray, n_needs: int, limit: int) -> np.ndarray:
    """The best ``limit`` of ``order``, keeping a share for each need.

    A plentiful need must not crowd another out of the list: each need first gets up to
    ``limit // (2 * needs)`` (at least one) of its best places, the rest go by score.
    """
    if order.size <= limit:
        return order
    quota = max(1, limit // (2 * max(n_needs, 1)))
    k = need[order]
    reserved = np.sort(np.concatenate([(k == j).nonzero()[0][:quota] for j in range(max(n_needs, 1))]))[:limit]
    # The others by position: among the first limit + reserved places at least ``limit`` are not reserved.
    taken = np.zeros(min(order.size, limit + reserved.size), dtype=bool)
    taken[reserved[reserved < taken.size]] = True
    rest = (~taken).nonzero()[0][: limit - reserved.size]
    return order[np.sort(np.concatenate([reserved, rest]))]


def _order(selection: Selection, keep: np.ndarray, scores: np.ndarray, live: Live) -> np.ndarray:
    """``keep`` sorted by score, then known capacity, distance and service id."""
    km = np.where(np.isfinite(selection.km), selection.km, 1e9)
    unknown = live.unknown_bound.astype(np.int8)
    sid = selection.directory.service_id[selection.rows]
    key = np.lexsort((sid[keep], km[keep], unknown[keep], -scores[keep]))
    return keep[key]


def rank(
    selection: Selection,
    capacity: CapacityColumns | Mapping[int, Capacity],
    records: Mapping[int, ProviderRecord],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    limit: int = 20,
) -> MatchResult:
    """Apply the capacity rule, score, sort and explain; at most ``limit`` candidates."""
    live, keep, scores, order, shown = _ranked(selection, capacity, records, now, stale_after, limit)
    km = _geodesic_km(selection, shown)
    candidates = reasons.candidates(selection, shown, scores, km, live, records)
    found = bundles.propose(_offers(selection, order, scores), [t for t, p in selection.needs if p == "required"])
    return MatchResult(
        candidates=candidates,
        bundles=found,
        excluded=_excluded(selection, live, keep, bool(found)),
        total_considered=sum(selection.considered.values()),
    )


def rank_ids(
    selection: Selection,
    capacity: CapacityColumns | Mapping[int, Capacity],
    records: Mapping[int, ProviderRecord],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    limit: int = 20,
) -> list[tuple[int, str, int]]:
    """(service id, service type, organisation id) of the candidates :func:`rank` gives, in its order, and nothing else.

    For choosing whom to ask (a referral's automatic offers): their distances, reasons, the bundles and the
    exclusions would be worked out for up to ``limit`` candidates and thrown away.
    """
    shown = _ranked(selection, capacity, records, now, stale_after, limit)[4]
    d, rows = selection.directory, selection.rows[shown]
    types = d.service_type
    return [(sid, types[row], org) for sid, row, org in zip(d.service_id[rows].tolist(), rows.tolist(), d.organisation_id[rows].tolist())]


def _ranked(
    selection: Selection,
    capacity: CapacityColumns | Mapping[int, Capacity],
    records: Mapping[int, ProviderRecord],
    now: dt.datetime,
    stale_after: dt.timedelta,
    limit: int,
) -> tuple[Live, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The live figures, the survivors the capacity rule keeps, every survivor's score, the kept ones in order and the
    at most ``limit`` of them shown: what :func:`rank` and :func:`rank_ids` share."""
    live = live_figures(selection, capacity, now, stale_after)
    keep = (~live.full).nonzero()[0]
    scores = score(selection, live, records)
    order = _order(selection, keep, scores, live)
    return live, keep, scores, order, _shortlist(order, selection.need, len(selection.needs), limit)


def _geodesic_km(selection: Selection, shown: np.ndarray) -> list[float | None]:
    """Geodesic km (0.1 km) to the nearest eligible site of each shown survivor; None without one.

    Kept on the directory per (origin, site): a match mostly shows distances an earlier one worked out.
    """
    d, origin = selection.directory, selection.query.origin
    sites = selection.site[shown].tolist()
    memo = d.geodesics
    km: list[float | None] = [memo.get((origin, site)) if site >= 0 else None for site in sites]
    missing = [i for i, (site, k) in enumerate(zip(sites, km)) if k is None and site >= 0]
    if missing:
        at = np.array([sites[i] for i in missing], dtype=np.int64)
        if len(memo) + len(missing) > GEODESICS_KEPT:
            memo.clear()
        for i, k in zip(missing, geodesic_km_remembered(origin, d.site_lat[at], d.site_lon[at]).tolist()):
            if not math.isnan(k):  # as without a site: no distance shown (not kept, so asked again)
                km[i] = memo[origin, sites[i]] = round(k, 1)  # plain floats: no numpy scalar each
    return km


def _offers(selection: Selection, order: np.ndarray, scores: np.ndarray) -> list[bundles.Offer]:
    """The best candidate of each organisation for each need, best first: those that can make a bundle."""
    if order.size == 0:
        return []
    org = selection.directory.organisation_id[selection.rows[order]]
    who, groups = bundles.group_ids(org)
    key = selection.need[order] * groups + who
    place = np.arange(order.size)
    first = np.full(len(selection.needs) * groups, order.size)
    np.minimum.at(first, key, place)
    firsts = (first[key] == place).nonzero()[0]  # the first place of each (need, organisation), in order
    best = order[firsts]
    required = np.array([priority == "required" for _, priority in selection.needs], dtype=bool)
    keep = bundles.relevant(selection.need[best], org[firsts], scores[best], required, grouped=(who[firsts], groups))
    return _as_offers(selection, best[keep], scores)


def _as_offers(s: Selection, survivors: np.ndarray, scores: np.ndarray) -> list[bundles.Offer]:
    """The ``survivors`` of ``s`` as bundles see them, in the given order."""
    d, rows = s.directory, s.rows[survivors]
    return [
        bundles.Offer(*s.needs[int(k)], org, d.organisation_name[row], sid, d.service_name[row], points)
        for k, org, row, sid, points in zip(
            s.need[survivors].tolist(), d.organisation_id[rows].tolist(), rows.tolist(),
            d.service_id[rows].tolist(), scores[survivors].tolist(),
        )
    ]  # fmt: skip


def _excluded(selection: Selection, live: Live, keep: np.ndarray, bundled: bool) -> Excluded:
    full = np.bincount(selection.need[live.full], minlength=len(selection.needs))
    kept = np.bincount(selection.need[keep], minlength=len(selection.needs))
    return explain.excluded(selection, full.tolist(), kept.tolist(), bundled)


def match(
    profile: Profile,
    directory: Directory,
    origin: tuple[float, float],
    capacity: CapacityColumns | Mapping[int, Capacity],
    records: Mapping[int, ProviderRecord],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    limit: int = 20,
) -> MatchResult:
    """:func:`select` then :func:`rank`, for tests and the command line."""
    selection = select(profile, directory, origin)
    return rank(selection, capacity, records, now=now, stale_after=stale_after, limit=limit)
