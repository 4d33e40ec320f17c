"""Provider bundles: the fewest organisations that together cover every required need.

Each extra organisation is another intake, another case worker and another journey for the
person, so a bundle is a minimal set of organisations, and one covering everything ranks first.
The search is exact for sizes 1 to 3 over a bounded pool: every organisation for size 1; for
sizes 2 and 3 the best few organisations of each required need plus the organisations that
cover several required needs. Among the bundles of the smallest size that covers everything,
the best-scoring ones (mean score of the service chosen for each required need) are returned.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np

from referralnet.matching.schemas import Bundle, BundleOrganisation, BundleService

MAX_SIZE = 3
MAX_BUNDLES = 3
POOL = 24  # organisations per search shared among the required needs (at least 2 per need)
MULTI_COVER_POOL = 8  # plus the organisations covering the most required needs


class Offer(NamedTuple):
    """A ranked candidate, as bundles see it."""

    service_type: str
    priority: str
    organisation_id: int
    organisation_name: str
    service_id: int
    service_name: str
    score: float


Best = dict[int, dict[str, Offer]]  # organisation -> service type -> its best offer


def propose(offers: Iterable[Offer], required: Sequence[str]) -> list[Bundle]:
    """Up to three minimal bundles covering ``required``; ``offers`` come best first."""
    if not required:
        return []
    best: Best = {}
    ranked: dict[str, list[int]] = {t: [] for t in required}
    for o in offers:
        by_type = best.setdefault(o.organisation_id, {})
        if o.service_type not in by_type:
            by_type[o.service_type] = o
            ranked.get(o.service_type, []).append(o.organisation_id)
    bit = {t: 1 << i for i, t in enumerate(required)}
    cover = {org: sum(bit.get(t, 0) for t in by_type) for org, by_type in best.items()}
    everything = (1 << len(required)) - 1
    for size in range(1, MAX_SIZE + 1):
        found: list[tuple[int, ...]]
        if size == 1:  # every organisation on its own
            found = [(org,) for org, mask in cover.items() if mask == everything]
        else:
            found = [combo for combo in combinations(_pool(ranked, cover, len(required)), size) if _union(cover, combo) == everything]
        if found:
            contenders = sorted(_ranked(best, combo, score) for combo, score in _contenders(best, found, required))
            return [_bundle(best, combo, required, -score, desired) for (score, _, _), combo, desired in contenders[:MAX_BUNDLES]]
    return []


def _contenders(best: Best, found: list[tuple[int, ...]], required: Sequence[str]) -> list[tuple[tuple[int, ...], float]]:
    """The combinations that can be among the best MAX_BUNDLES (none scoring below the MAX_BUNDLES-th score), with their scores.

    With one required need and thousands of organisations every organisation is a bundle; only these
    few get the full ranking key.
    """
    scores = [_score(best, combo, required) for combo in found]
    if len(found) <= MAX_BUNDLES:
        return list(zip(found, scores))
    cut = heapq.nlargest(MAX_BUNDLES, scores)[-1]
    return [(combo, score) for combo, score in zip(found, scores) if score >= cut]


def relevant(
    need: np.ndarray, org: np.ndarray, score: np.ndarray, required: np.ndarray, *, grouped: tuple[np.ndarray, int] | None = None
) -> np.ndarray:
    """Which offers can change what :func:`propose` answers, as a mask; the others can be left out.

    ``need``, ``org`` and ``score`` describe the offers :func:`propose` would get (best first, one per
    need and organisation; ``need`` indexes ``required``, which flags the required needs). With
    thousands of organisations this spares building and searching thousands of offers, and the
    answer stays the same: when some organisation covers every required need, only those scoring
    near the best :data:`MAX_BUNDLES` can win; otherwise only the pools of sizes 2 and 3 (the best
    organisations of each required need, and every organisation covering several) are searched.
    All offers of a kept organisation are kept, its desired ones too. ``grouped``: :func:`group_ids` of ``org``
    (or of a longer column ``org`` was taken from, at the same places) where the caller has it already.
    """
    n_required = int(required.sum())
    if n_required == 0 or need.size == 0:
        return np.zeros(need.size, dtype=bool)
    who, groups = grouped if grouped is not None else group_ids(org)
    position = required.cumsum() - 1  # need index -> bit among the required needs
    is_required = required[need]
    cover = np.zeros(groups, dtype=np.int64)
    np.bitwise_or.at(cover, who[is_required], np.left_shift(1, position[need[is_required]]))
    total = np.zeros(groups)
    np.add.at(total, who[is_required], score[is_required])
    covering = (cover == (1 << n_required) - 1).nonzero()[0]
    keep = np.zeros(groups, dtype=bool)
    if covering.size:
        mean = total[covering] / n_required
        cut = np.sort(mean)[-min(MAX_BUNDLES, mean.size)] - 0.1  # 0.1: propose rounds its scores
        keep[covering[mean >= cut]] = True
        return keep[who]
    per_need = max(2, POOL // n_required)
    for k in required.nonzero()[0].tolist():
        firsts = who[need == k]  # in the order given: each organisation once per need
        keep[firsts[:per_need]] = True
    keep[(cover & (cover - 1)) != 0] = True  # covers several required needs
    return keep[who]


def group_ids(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each of ``values`` (integers, at least one) as a group number, in the values' order, and how many numbers
    there may be: offsets from the smallest value when they span little (no sort), else ranks."""
    low, high = int(values.min()), int(values.max())
    if high - low < 4 * values.size + 4096:
        return values - low, high - low + 1
    _, who = np.unique(values, return_inverse=True)
    return who, int(who.max()) + 1


def _pool(ranked: dict[str, list[int]], cover: dict[int, int], n_required: int) -> list[int]:
    per_need = max(2, POOL // n_required)
    pool = dict.fromkeys(org for orgs in ranked.values() for org in orgs[:per_need])
    multi = sorted((org for org, mask in cover.items() if mask.bit_count() > 1), key=lambda o: -cover[o].bit_count())
    pool.update(dict.fromkeys(multi[:MULTI_COVER_POOL]))
    return list(pool)


def _union(cover: dict[int, int], combo: tuple[int, ...]) -> int:
    mask = 0
    for org in combo:
        mask |= cover[org]
    return mask


def _chosen(best: Best, combo: tuple[int, ...], service_type: str) -> Offer | None:
    offers = [best[org][service_type] for org in combo if service_type in best[org]]
    return max(offers, key=lambda o: o.score) if offers else None


def _score(best: Best, combo: tuple[int, ...], required: Sequence[str]) -> float:
    if len(combo) == 1 and all(t in best[combo[0]] for t in required):  # the common case, made cheap
        by_type = best[combo[0]]
        return round(sum(by_type[t].score for t in required) / len(required), 1)
    chosen = [_chosen(best, combo, t) for t in required]
    return round(sum(o.score for o in chosen if o) / len(required), 1)


def _desired(best: Best, combo: tuple[int, ...]) -> list[str]:
    return sorted({t for org in combo for t, o in best[org].items() if o.priority == "desired"})


def _ranked(
    best: Best, combo: tuple[int, ...], score: float
) -> tuple[tuple[float, int, tuple[int, ...]], tuple[int, ...], list[str]]:
    """``combo``'s ranking key (score, desired needs also covered, organisation ids), the combination and those needs:
    each worked out once, for the ranking and the bundle."""
    desired = _desired(best, combo)
    return (-score, -len(desired), tuple(sorted(combo))), combo, desired


def _service(o: Offer) -> BundleService:
    return BundleService(
        service_id=o.service_id,
        service_type=o.service_type,
        service_name=o.service_name,
        priority=o.priority,  # type: ignore[arg-type]
    )


def _bundle(best: Best, combo: tuple[int, ...], required: Sequence[str], score: float, also: list[str]) -> Bundle:
    chosen = [o for o in (_chosen(best, combo, t) for t in (*required, *also)) if o is not None]
    members: dict[int, list[Offer]] = {org: [] for org in combo}
    for o in chosen:
        members[o.organisation_id].append(o)
    organisations = [
        BundleOrganisation(
            organisation_id=org,
            organisation_name=offers[0].organisation_name,
            services=[_service(o) for o in offers],
        )
        for org, offers in sorted(members.items(), key=lambda item: -len(item[1]))
        if offers
    ]
    return Bundle(
        organisations=organisations,
        covers=list(required),
        also_covers=also,
        size=len(combo),
        score=score,
    )
