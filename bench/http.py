"""HTTP throughput and latency from outside, with wrk: the API's hot calls against a bare Litestar endpoint.

``python bench/http.py --help``; the method is in ``bench/README.md`` and the code in ``_http.py``.
This file only starts it: named like the standard library's ``http``, it is also what another bench
script (its directory first on ``sys.path``) finds when anything imports ``http``, and then it hands
over the real package (the import system reads ``sys.modules`` back after running a module).
"""

import importlib
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _without_here() -> list[str]:
    return [p for p in sys.path if Path(p or ".").resolve() != _HERE]


if __name__ == "http":
    saved, sys.path[:] = sys.path[:], _without_here()
    del sys.modules["http"]
    try:
        sys.modules["http"] = importlib.import_module("http")
    finally:
        sys.path[:] = saved
elif __name__ == "__main__":
    sys.path[:] = _without_here()
    import http.client  # noqa: F401  (the standard library's, before this directory is on the path)

    sys.path.insert(0, str(_HERE))
    from _http import main

    sys.exit(main())
