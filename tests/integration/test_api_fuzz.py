"""Schema-driven fuzzing of the whole API with schemathesis, against the real server on each engine.

Every operation of the OpenAPI document gets generated requests, valid and invalid; the run fails on
any 5xx, on a status code the document does not list, or on a body that does not match its schema.
It found the 500s now covered by test_api_edges.py (OPTIONS, ids beyond 32 bits, year-1 dates).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.integration.servers import free_port

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
pytestmark = pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is not installed (pip install -e '.[test]')")


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "referralnet.cli", *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The service under ``referralnet serve`` with the demo directory, and an admin token."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "REFERRALNET_DATABASE_URL": database_url,
        "REFERRALNET_DATA_DIR": str(REPO / "data"),
        "REFERRALNET_SCHEDULER": "false",
        "REFERRALNET_LOG_LEVEL": "WARNING",
    }
    _cli(env, "seed", "--demo")
    token = _cli(env, "token", "create", "--role", "admin", "--name", "fuzz").strip().splitlines()[-1]
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "referralnet.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + (tmp_path / "serve.log").read_text())
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_no_operation_answers_5xx_or_off_its_schema(served: tuple[str, str], tmp_path: Path) -> None:
    base, token = served
    run = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{base}/schema/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "8",
            "--seed", "20261203",
            "--no-color",
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
