"""``bench/http.py --rounds``: a case's rounds reported as the run with the median ratio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench_http(monkeypatch_module: pytest.MonkeyPatch) -> Any:
    monkeypatch_module.syspath_prepend(str(BENCH))
    import _http

    return _http


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        yield mp
    for name in [n for n in sys.modules if n in {"_http", "_common", "_synthetic", "_client", "_load"}]:
        del sys.modules[name]


def run(ratio: float, rps: float, p99: float, non_2xx: int = 0) -> dict[str, Any]:
    return {"ratio": ratio, "rps": rps, "p99_ms": p99, "non_2xx": non_2xx, "socket_errors": 0}


def test_the_median_round_is_reported_whole_with_every_rounds_range_and_errors(bench_http: Any) -> None:
    rounds = [run(0.30, 3000, 9.0), run(0.10, 1000, 40.0, non_2xx=2), run(0.20, 2000, 20.0)]
    row = bench_http.median_run(rounds)
    assert (row["ratio"], row["rps"], row["p99_ms"]) == (0.20, 2000, 20.0)  # one run's figures, not a mix
    assert row["ratio_range"] == "0.100-0.300" and row["rounds"] == 3
    assert row["non_2xx"] == 2  # an error in any round is reported
    assert rounds[2]["non_2xx"] == 0  # the rounds themselves are left as they were
    assert bench_http.median_run([run(0.5, 10, 1.0)]) == run(0.5, 10, 1.0)


def test_an_even_number_of_rounds_reports_the_lower_middle(bench_http: Any) -> None:
    row = bench_http.median_run([run(0.4, 4, 1.0), run(0.1, 1, 1.0), run(0.3, 3, 1.0), run(0.2, 2, 1.0)])
    assert row["ratio"] == 0.2  # the cautious one of the two middle runs
