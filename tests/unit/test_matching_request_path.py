"""The match request's shortcuts give what the plain computation gives: the unknown-capacity cap found without a sort, bundle offers
grouped once per match and ranked from scores worked out once, and the privacy screen's walk with its paths built only where needed."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from referralnet.matching import bundles, privacy
from referralnet.matching.bundles import Offer, group_ids, propose, relevant
from referralnet.matching.schemas import Bundle
from referralnet.matching.scoring import _below_known


def _plain_below_known(s: Any, live: Any, scores: np.ndarray) -> np.ndarray:
    """The cap as first written, over ``np.unique`` of the needs with an unknown bound (the reference)."""
    for k in np.unique(s.need[live.unknown_bound]):
        known = (s.need == k) & (live.available > 0)
        if known.any():
            unknown = (s.need == k) & live.unknown_bound
            ceiling = scores[known].min() - 0.1
            scores[unknown] = np.round(np.clip(np.minimum(scores[unknown], ceiling), 0, None), 1)
    return scores


@settings(max_examples=500)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(-1, 3), st.booleans(), st.integers(0, 1000)), max_size=40))))
def test_the_unknown_capacity_cap_equals_the_plain_one(case: tuple[int, list[tuple[int, int, bool, int]]]) -> None:
    n, rows = case
    need = np.array([r[0] for r in rows], dtype=np.int64)
    available = np.array([r[1] for r in rows], dtype=np.int64)
    unknown = np.array([r[2] and r[1] < 0 for r in rows], dtype=bool)
    scores = np.array([r[3] / 10 for r in rows], dtype=np.float64)
    s, live = SimpleNamespace(need=need, needs=[("t", "required")] * n), SimpleNamespace(available=available, unknown_bound=unknown)
    assert _below_known(s, live, scores.copy()).tolist() == _plain_below_known(s, live, scores.copy()).tolist()  # type: ignore[arg-type]


@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(0, 2), st.integers(0, 40)), min_size=1, max_size=60),
    st.sampled_from([1, 10**9]),
    st.data(),
)
def test_offers_grouped_with_the_whole_column_keep_what_they_keep_grouped_alone(
    rows: list[tuple[int, int, int]], spread: int, data: st.DataObject
) -> None:
    org = np.array([r[0] for r in rows], dtype=np.int64) * spread
    at = np.array(sorted(data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1))), dtype=np.int64)
    need = np.array([r[1] for r in rows], dtype=np.int64)[at]
    score = np.array([r[2] * 2.5 for r in rows])[at]
    required = np.array(data.draw(st.lists(st.booleans(), min_size=3, max_size=3)), dtype=bool)
    who, groups = group_ids(org)
    alone = relevant(need, org[at], score, required)
    assert relevant(need, org[at], score, required, grouped=(who[at], groups)).tolist() == alone.tolist()


def _plain_strings(value: object, path: str) -> list[tuple[str, str]]:
    """Every string in ``value`` with its path, each path built as the walk goes (the reference)."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, msgspec.Struct):
        parts = [(f"{path}.{f.encode_name}" if path else f.encode_name, getattr(value, f.name)) for f in msgspec.structs.fields(value)]
    elif isinstance(value, dict):
        parts = [(f"{path}.{key}" if path else str(key), item) for key, item in value.items()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        parts = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    else:
        return []
    return [found for where, item in parts for found in _plain_strings(item, where)]


class _Part(msgspec.Struct, frozen=True):
    name: str
    rest: object = None
    renamed: str = msgspec.field(default="", name="other")


leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
nested = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2) | st.integers(), inner, max_size=3)
    | st.builds(_Part, st.text(max_size=3), inner, st.text(max_size=3)) | st.tuples(inner, inner),
    max_leaves=12,
)


@given(nested, st.sampled_from(["", "profile"]))
def test_the_screen_walks_the_strings_and_paths_of_the_plain_walk(value: object, path: str) -> None:
    assert list(privacy._strings(value, path)) == _plain_strings(value, path)


def _plain_propose(offers: list[Offer], required: list[str]) -> list[Bundle]:
    """:func:`propose` with every found combination ranked by its whole key, each part worked out where it is used
    (the reference: scores and desired needs computed again for the ranking and for each bundle)."""
    if not required:
        return []
    best: dict[int, dict[str, Offer]] = {}
    ranked: dict[str, list[int]] = {t: [] for t in required}
    for o in offers:
        by_type = best.setdefault(o.organisation_id, {})
        if o.service_type not in by_type:
            by_type[o.service_type] = o
            ranked.get(o.service_type, []).append(o.organisation_id)
    bit = {t: 1 << i for i, t in enumerate(required)}
    cover = {org: sum(bit.get(t, 0) for t in by_type) for org, by_type in best.items()}
    for size in range(1, bundles.MAX_SIZE + 1):
        pool = [org for org, mask in cover.items() if mask] if size == 1 else bundles._pool(ranked, cover, len(required))
        found = [c for c in itertools.combinations(pool, size) if bundles._union(cover, c) == (1 << len(required)) - 1]
        if found:
            key = lambda c: (-bundles._score(best, c, required), -len(bundles._desired(best, c)), tuple(sorted(c)))  # noqa: E731
            chosen = sorted(found, key=key)[: bundles.MAX_BUNDLES]
            return [bundles._bundle(best, c, required, bundles._score(best, c, required), bundles._desired(best, c)) for c in chosen]
    return []


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(1, 12), st.sampled_from("abcd"), st.integers(0, 8).map(lambda x: x * 12.5)), max_size=40,
             unique_by=lambda t: (t[0], t[1])),
    st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True),
)  # fmt: skip
def test_bundles_ranked_from_scores_worked_out_once_are_the_plain_ranking(
    rows: list[tuple[int, str, float]], required: list[str]
) -> None:
    offers = sorted(
        (Offer(t, "required" if t in required else "desired", org, f"Org {org}", org * 10 + "abcd".index(t), t, score) for org, t, score in rows),
        key=lambda o: -o.score,
    )
    assert propose(offers, required) == _plain_propose(offers, required)
