"""HTTP load for the matching benchmark: requests/s with concurrent clients, and a bare Litestar endpoint.

``python bench/_load.py PORT`` serves the bare endpoint with uvicorn exactly as ``referralnet serve``
runs the app (same host, log level, defaults), so the two are compared like for like.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _client import Client  # noqa: E402
from _common import REPO, Server, _stop, _wait_healthy, child_env, free_port  # noqa: E402


def serve_bare(port: int) -> None:
    """A bare Litestar JSON endpoint, run by uvicorn exactly as ``referralnet serve`` runs the app."""
    import uvicorn
    from litestar import Litestar, get

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/json", sync_to_thread=False)
    def hello() -> dict[str, str]:
        return {"message": "Hello, World!"}

    uvicorn.run(Litestar([health, hello]), host="127.0.0.1", port=port, log_level="warning")


@contextlib.asynccontextmanager
async def bare_server() -> AsyncIterator[Server]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="rn-bench-log-") as tmp:
        log_path = Path(tmp) / "bare.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), str(port)],
                env=child_env("sqlite:///unused"), cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = Server(process, f"http://127.0.0.1:{port}", log_path)
        try:
            await _wait_healthy(server, 30.0)
            yield server
        finally:
            _stop(process)


async def throughput(base_url: str, send: Any, clients: int, seconds: float) -> tuple[float, int]:
    """Requests/s over ``seconds`` with ``clients`` concurrent keep-alive clients (``_client.Client``), and the failed requests."""
    done, errors = 0, 0

    async def one(k: int) -> None:
        nonlocal done, errors
        async with Client(base_url, timeout=60.0) as client:
            await send(client, k)  # warm-up: connect
            await gate.wait()
            i = k
            while time.perf_counter() < deadline:
                ok = (await send(client, i)).status_code == 200
                done, errors, i = done + ok, errors + (not ok), i + clients

    gate, deadline = asyncio.Event(), math.inf
    tasks = [asyncio.create_task(one(k)) for k in range(clients)]
    await asyncio.sleep(1.0)  # every client connected
    started = time.perf_counter()
    deadline = started + seconds
    gate.set()
    await asyncio.gather(*tasks)
    return done / (time.perf_counter() - started), errors


if __name__ == "__main__":
    serve_bare(int(sys.argv[1]))
