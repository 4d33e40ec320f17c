"""A serving process hands what its startup built to the permanent generation, once (``app._freeze_startup_heap``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc, sys
from litestar.testing import TestClient
from referralnet.app import create_app
from referralnet.settings import Settings

settings = Settings(database_url=f"sqlite:///{sys.argv[1]}", scheduler=False)
before = gc.get_freeze_count()
with TestClient(create_app(settings)) as client:
    assert client.get("/health").status_code == 200
    first = gc.get_freeze_count()
with TestClient(create_app(settings)) as client:
    again = gc.get_freeze_count()
print(before, first, again)
"""


def test_startup_moves_the_long_lived_heap_out_of_the_collectors_sight_once(tmp_path: Path) -> None:
    """Full collections walked every module, route and schema (60-70 ms each under load, the p99 of a
    capacity update); frozen after startup they are not walked again. A second app in the same
    process (as in tests) freezes nothing more."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    subprocess.run([sys.executable, "-m", "referralnet", "migrate"], check=True, capture_output=True,
                   env={**env, "REFERRALNET_DATABASE_URL": f"sqlite:///{tmp_path / 'heap.sqlite'}"})  # fmt: skip
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "heap.sqlite")], check=True, capture_output=True, text=True, env=env)
    before, first, again = map(int, out.stdout.split())
    assert before == 0 and first > 10_000 and again <= first  # the second app's objects stay collectable
